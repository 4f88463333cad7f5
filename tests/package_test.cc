// The Debian package (tools/package/): CPack builds it from this build tree, dpkg-deb unpacks
// it, and what it holds works: syncd and syncctl run from the unpacked tree (--help good enough
// to read as a man page, a station that starts and answers), the unit files and example configs
// are where the units expect them, the maintainer scripts make the syncd user, and the package
// and both binaries (--version) carry the one version of CMakeLists.txt.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <signal.h>

#include "sync/base/version.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::RunCommand;
using testing::TempDir;
namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Package, TheDebHoldsWorkingBinariesUnitsConfigsAndMakesTheSyncdUser) {
  TempDir dir;
  const fs::path build = fs::path(BinPath("syncd")).parent_path().parent_path();
  const auto packed =
      RunCommand({"/usr/bin/cpack", "--config", (build / "CPackConfig.cmake"), "-B", dir / "out"},
                 "", std::chrono::minutes(5));
  ASSERT_EQ(packed.exit_code, 0) << packed.out << packed.err;
  std::string deb;
  for (const auto& entry : fs::directory_iterator(dir / "out")) {
    if (entry.path().extension() == ".deb") deb = entry.path();
  }
  ASSERT_FALSE(deb.empty()) << packed.out;
  ASSERT_EQ(RunCommand({"/usr/bin/dpkg-deb", "-x", deb, dir / "root"}).exit_code, 0);
  ASSERT_EQ(RunCommand({"/usr/bin/dpkg-deb", "-e", deb, dir / "control"}).exit_code, 0);

  const fs::path root = dir / "root";
  for (const char* file :
       {"usr/bin/syncd", "usr/bin/syncctl", "usr/lib/systemd/system/stationsync-hub.service",
        "usr/lib/systemd/system/stationsync-station.service", "etc/stationsync/hub.toml",
        "etc/stationsync/station.toml", "usr/share/doc/stationsync/README.md"}) {
    EXPECT_TRUE(fs::exists(root / file)) << file;
  }
  const std::string control = ReadText(dir / "control/control");
  EXPECT_TRUE(Contains(control, "Package: stationsync")) << control;
  EXPECT_TRUE(Contains(control, "adduser")) << control;
  // One version, CMake's project(... VERSION): the package's, the file name's, the binaries'.
  const std::string version(Version());
  EXPECT_TRUE(Contains(control, "\nVersion: " + version + "\n")) << control;
  EXPECT_TRUE(Contains(deb, "stationsync_" + version + "_")) << deb;
  const std::string postinst = ReadText(dir / "control/postinst");
  EXPECT_TRUE(Contains(postinst, "adduser --system --group")) << postinst;
  EXPECT_TRUE(Contains(postinst, "syncd")) << postinst;
  for (const char* script : {"postinst", "postrm"}) {
    const auto parsed = RunCommand({"/bin/sh", "-n", dir / (std::string("control/") + script)});
    EXPECT_EQ(parsed.exit_code, 0) << script << ": " << parsed.err;
  }
  const std::string conffiles = ReadText(dir / "control/conffiles");
  EXPECT_TRUE(Contains(conffiles, "/etc/stationsync/hub.toml")) << conffiles;
  EXPECT_TRUE(Contains(conffiles, "/etc/stationsync/station.toml")) << conffiles;

  // --help as a man page: the roles, the config file, files, signals, exit codes.
  const std::string syncd = root / "usr/bin/syncd";
  const auto help = RunCommand({syncd, "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* part : {"station", "hub", "--config", "--log-format",
                           "Exit codes:", "Signals:", "READY=1", "syncctl backup"}) {
    EXPECT_TRUE(Contains(help.out, part)) << part << " missing in:\n" << help.out;
  }
  const std::string syncctl = root / "usr/bin/syncctl";
  const auto ctl_help = RunCommand({syncctl, "--help"});
  EXPECT_EQ(ctl_help.exit_code, 0) << ctl_help.err;
  EXPECT_TRUE(Contains(ctl_help.out, "backup")) << ctl_help.out;
  for (const std::string& binary : {syncd, syncctl}) {
    const auto printed = RunCommand({binary, "--version"});
    EXPECT_EQ(printed.exit_code, 0) << binary << ": " << printed.err;
    EXPECT_EQ(printed.out, version + "\n") << binary;
  }

  // A short start of the unpacked syncd, reached by the unpacked syncctl.
  const std::string api = "ipc://" + dir / "api.sock";
  testing::Process station(
      {syncd, "station", "--unit", "P01", "--data", dir / "data", "--api", api, "--http", "off"},
      dir / "syncd.log");
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        return RunCommand({syncctl, "--api", api, "ping"}).exit_code == 0;
      },
      std::chrono::seconds(30)))
      << ReadText(dir / "syncd.log");
  station.Signal(SIGTERM);
  EXPECT_EQ(station.Wait(std::chrono::seconds(30)), 0) << ReadText(dir / "syncd.log");
}

}  // namespace
}  // namespace stationsync
