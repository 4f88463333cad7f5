#include "tools/syncctl/backup_command.h"

#include <filesystem>

namespace stationsync {

nlohmann::ordered_json BackupToJson(const BackupReport& report) {
  nlohmann::ordered_json out;
  out["path"] = report.path;
  out["files"] = report.files;
  out["bytes"] = report.bytes;
  out["log_position"] = report.log_position;
  out["key_pair"] = report.key_pair;
  return out;
}

int CmdBackup(const GlobalFlags& flags, const std::string& dir, double timeout_s) {
  if (dir.empty()) return Report(Invalid("DIR is empty: name the backup directory"));
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(dir, ec).lexically_normal();
  if (ec) return Report(Invalid("DIR " + dir + ": " + ec.message()));
  GlobalFlags waiting = flags;
  waiting.timeout_s = timeout_s;
  auto client = MakeClient(waiting);
  if (!client) return 2;
  auto report = client->Backup(absolute.string());
  if (!report.ok()) return Report(report.status());
  PrintLine(BackupToJson(*report));
  return 0;
}

}  // namespace stationsync
