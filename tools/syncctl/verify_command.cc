#include "tools/syncctl/verify_command.h"

#include <fmt/format.h>

namespace stationsync {

nlohmann::ordered_json DifferenceToJson(const VerifyDifference& difference) {
  nlohmann::ordered_json out;
  out["table"] = TableName(difference.table);
  out["id"] = difference.id;
  out["station"] = difference.station ? nlohmann::ordered_json(*difference.station) : nullptr;
  out["hub"] = difference.hub ? nlohmann::ordered_json(*difference.hub) : nullptr;
  return out;
}

nlohmann::ordered_json VerifySummaryToJson(const VerifyReport& report) {
  nlohmann::ordered_json out;
  out["records"] = report.records;
  out["differences"] = report.differences.size();
  out["bytes_exchanged"] = report.bytes_exchanged;
  out["ms"] = report.ms;
  if (report.truncated) out["truncated"] = true;
  if (report.repair) {
    out["repaired"] = report.repaired;
    out["remaining"] = report.remaining;
  }
  return out;
}

int CmdVerify(const GlobalFlags& flags, const VerifyRequest& verify, bool json, double timeout_s) {
  GlobalFlags waiting = flags;
  waiting.timeout_s = timeout_s;
  auto client = MakeClient(waiting);
  if (!client) return 2;
  auto report = client->Verify(verify);
  if (!report.ok()) return Report(report.status());
  for (const VerifyDifference& difference : report->differences) {
    if (json) {
      PrintLine(DifferenceToJson(difference));
    } else {
      fmt::print("{} {}: station {}, hub {}\n", TableName(difference.table), difference.id,
                 difference.station.value_or("none"), difference.hub.value_or("none"));
    }
  }
  PrintLine(VerifySummaryToJson(*report));
  const bool equal = report->repair ? report->remaining == 0 : report->differences.empty();
  return equal ? 0 : 1;
}

}  // namespace stationsync
