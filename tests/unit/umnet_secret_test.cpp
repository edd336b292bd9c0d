// The per-user RFC 7217 secret of views (modules/umnet/stable_secret.cpp): created once
// 0600 under the XDG state directory, the same on every later run, a per-run random key
// when the file cannot be made or is not trustworthy (label unit).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "stable_secret.h"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path p;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "tn-secret-XXXXXX").string();
    p = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(p, fs::perms::owner_all, ec);
    fs::remove_all(p, ec);
  }
};

TEST(StableSecret, PathFollowsXdgStateHomeThenHome) {
  EXPECT_EQ(umnet::stable_secret_path("/x/state", "/home/u"), "/x/state/threadnet/rfc7217-secret");
  EXPECT_EQ(umnet::stable_secret_path(nullptr, "/home/u"),
            "/home/u/.local/state/threadnet/rfc7217-secret");
  EXPECT_EQ(umnet::stable_secret_path("relative", "/home/u"),
            "/home/u/.local/state/threadnet/rfc7217-secret") << "XDG paths must be absolute";
  EXPECT_EQ(umnet::stable_secret_path(nullptr, nullptr), "");
}

TEST(StableSecret, CreatedPrivateOnceThenTheSameOnEveryRun) {
  TempDir d;
  std::string path = umnet::stable_secret_path((d.p / "state").c_str(), nullptr);
  auto a = umnet::load_stable_secret(path);
  ASSERT_TRUE(a.persistent) << a.problem;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((d.p / "state" / "threadnet").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(fs::file_size(path), 65u);
  auto b = umnet::load_stable_secret(path);
  ASSERT_TRUE(b.persistent) << b.problem;
  EXPECT_EQ(a.key, b.key);
  EXPECT_NE(a.key, (std::array<uint8_t, 32>{}));
  // Nothing left behind but the key file.
  size_t n = 0;
  for (auto &e : fs::directory_iterator(d.p / "state" / "threadnet")) n += !e.path().empty();
  EXPECT_EQ(n, 1u);
}

TEST(StableSecret, UnwritableLocationFallsBackToARandomKeyPerRun) {
  // A state "directory" that is a file cannot hold the key, even for root.
  TempDir d;
  std::ofstream(d.p / "state") << "a file\n";
  std::string path = umnet::stable_secret_path((d.p / "state").c_str(), nullptr);
  auto a = umnet::load_stable_secret(path), b = umnet::load_stable_secret(path);
  EXPECT_FALSE(a.persistent);
  EXPECT_NE(a.problem.find("cannot "), std::string::npos) << a.problem;
  EXPECT_NE(a.key, b.key);
}

TEST(StableSecret, NoLocationFallsBackToARandomKeyPerRun) {
  auto a = umnet::load_stable_secret(""), b = umnet::load_stable_secret("");
  EXPECT_FALSE(a.persistent);
  EXPECT_EQ(a.problem, "no state directory (neither XDG_STATE_HOME nor HOME is set)");
  EXPECT_NE(a.key, b.key);
}

TEST(StableSecret, FilesOthersCanReadOrThatAreMalformedAreNotUsed) {
  TempDir d;
  std::string path = (d.p / "rfc7217-secret").string();
  auto good = umnet::load_stable_secret(path);
  ASSERT_TRUE(good.persistent);
  chmod(path.c_str(), 0644);
  auto open = umnet::load_stable_secret(path);
  EXPECT_FALSE(open.persistent);
  EXPECT_EQ(open.problem, path + " is not a private regular file of this user");
  EXPECT_NE(open.key, good.key);
  chmod(path.c_str(), 0600);
  std::ofstream(path) << "not a key\n";
  auto bad = umnet::load_stable_secret(path);
  EXPECT_FALSE(bad.persistent);
  EXPECT_EQ(bad.problem, path + " does not hold one key (64 hex digits)");
  fs::remove(path);
  fs::create_symlink(d.p / "elsewhere", path);
  EXPECT_FALSE(umnet::load_stable_secret(path).persistent) << "symlinks are not followed";
}

}  // namespace
