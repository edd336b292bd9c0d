/* Broken modules for the loader tests: BADABI claims ABI version 99; NOSYM exports no
 * entry symbol at all. */
#include <threadnet/module.h>

#ifdef BADABI
static const int sys[] = {-1};
static const struct tn_module m = {.abi_version = 99, .size = sizeof(struct tn_module),
                                   .name = "badabi", .syscalls = sys};
const struct tn_module *threadnet_module_v1(void) { return &m; }
#else
int threadnet_not_a_module(void) { return 0; }
#endif
