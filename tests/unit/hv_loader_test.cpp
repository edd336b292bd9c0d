// Module loader: finding modules by name and path, and rejecting broken ones with a clear
// message (missing file, not a module, wrong ABI version).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "module_loader.h"

namespace {

std::string dir_of(const std::string &p) { return p.substr(0, p.rfind('/')); }

TEST(HvLoader, LoadsTheExampleModule) {
  tn::LoadedModule m;
  std::string err;
  ASSERT_TRUE(tn::load_module(EXAMPLE_MODULE, &m, &err)) << err;
  EXPECT_STREQ(m.mod->name, "example");
  EXPECT_EQ(m.mod->abi_version, TN_MODULE_ABI_VERSION);
  EXPECT_EQ(tn::module_option(m.mod, "example-mode"), 2);
  EXPECT_EQ(tn::module_option(m.mod, "example"), 0);
  EXPECT_EQ(tn::module_option(m.mod, "publish"), 0);
}

TEST(HvLoader, MissingFile) {
  tn::LoadedModule m;
  std::string err;
  EXPECT_FALSE(tn::load_module("/nonexistent/threadnet-x.so", &m, &err));
  EXPECT_NE(err.find("cannot load module /nonexistent/threadnet-x.so"), std::string::npos) << err;
}

TEST(HvLoader, MissingSymbol) {
  tn::LoadedModule m;
  std::string err;
  EXPECT_FALSE(tn::load_module(NOSYM_MODULE, &m, &err));
  EXPECT_NE(err.find("is not a ThreadNet module (no symbol threadnet_module_v1)"),
            std::string::npos)
      << err;
}

TEST(HvLoader, WrongAbiVersion) {
  tn::LoadedModule m;
  std::string err;
  EXPECT_FALSE(tn::load_module(BADABI_MODULE, &m, &err));
  EXPECT_NE(err.find("built for module ABI version 99, this threadnet supports version 1"),
            std::string::npos)
      << err;
}

TEST(HvLoader, FindByNameInModulePath) {
  setenv("THREADNET_MODULE_PATH", (std::string("/nonexistent:") + dir_of(EXAMPLE_MODULE)).c_str(), 1);
  std::vector<std::string> tried;
  std::string p = tn::find_module("example", &tried);
  EXPECT_FALSE(p.empty());
  EXPECT_NE(p.find("threadnet-example.so"), std::string::npos);
  EXPECT_EQ(tn::find_module("threadnet-no-such", &tried), "");
  EXPECT_GT(tried.size(), 4u);
  EXPECT_EQ(tn::find_module("/nonexistent/x.so", nullptr), "");
  EXPECT_EQ(tn::find_module(EXAMPLE_MODULE, nullptr), EXAMPLE_MODULE);
  unsetenv("THREADNET_MODULE_PATH");
  EXPECT_EQ(tn::module_dirs().front().find("/nonexistent"), std::string::npos);
}

}  // namespace
