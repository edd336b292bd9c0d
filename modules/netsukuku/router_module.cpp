// threadnet-netsukuku.so: the router entry (router.cpp) comes from ntk_core, linked whole.
