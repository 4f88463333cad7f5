// syncctl's commands. Each returns the process exit code (status.h) and prints results to
// stdout, errors to stderr as "syncctl: <what went wrong>".
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sync/transport/api_client.h"

namespace stationsync {

struct GlobalFlags {
  std::string api;
  std::string actor;
  bool json = false;
  double timeout_s = 10;
};

// Prints the error and returns its exit code.
int Report(const Status& status);
// A client for the flags; nullptr (after reporting) when the endpoint is missing.
std::unique_ptr<ApiClient> MakeClient(const GlobalFlags& flags);
// Prints one JSON value on its own line of stdout.
void PrintLine(const nlohmann::ordered_json& json);
// kInvalid naming the flag when a write has no actor.
Status NeedActor(const GlobalFlags& flags);
// Pages through a query, calling `each` for every live record, at most `limit` (0: all); returns
// the exit code.
int ForEachRecord(ApiClient& client, ListQuery query, size_t limit,
                  const std::function<void(const Record&)>& each);

int CmdPing(const GlobalFlags& flags);
int CmdPut(const GlobalFlags& flags, const std::string& table, const std::string& id,
           const std::string& fields_json, const std::string& owner);
// With `remote`, the hub's copy (a station asks the hub through its daemon; read only).
int CmdGet(const GlobalFlags& flags, const std::string& table, const std::string& id,
           bool remote = false);
int CmdDelete(const GlobalFlags& flags, const std::string& table, const std::string& id);
int CmdList(const GlobalFlags& flags, const std::string& table, const std::string& owner,
            const std::string& household, size_t limit);
int CmdHistory(const GlobalFlags& flags, const std::string& table, const std::string& id);
int CmdExport(const GlobalFlags& flags, const std::string& table);

}  // namespace stationsync
