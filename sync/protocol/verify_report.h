// What a verify is asked for and what it found (`syncctl verify`, sync/admin/verify_walk.h): the
// same structs in the API (schema/api.capnp) and on the sync link, where the hub orders a station
// to verify (`syncctl verify --station CODE`) and the station reports back (schema/sync.capnp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sync/records/record.h"

namespace stationsync {

struct VerifyRequest {
  bool deep = false;    // recompute the station's sums from its stored records
  bool repair = false;  // make the differing records equal to the hub's, then verify again
  std::string station;  // at the hub: the station unit to ask ("" at a station)
  bool operator==(const VerifyRequest&) const = default;
};

struct VerifyDifference {
  Table table = Table::kUnit;
  std::string id;
  std::optional<std::string> station;  // the station's version (VersionString); nullopt: none
  std::optional<std::string> hub;      // the hub's version; nullopt: none
  bool operator==(const VerifyDifference&) const = default;
};

struct VerifyReport {
  std::vector<VerifyDifference> differences;  // as found, before any repair
  uint64_t records = 0;                       // records of the scope at the station
  uint64_t bytes_exchanged = 0;               // sync messages of the verify, both ways
  uint64_t ms = 0;
  bool truncated = false;  // the walk stopped at its limit of differences
  bool repair = false;     // the fields below are set
  uint64_t repaired = 0;   // records made equal to the hub's
  uint64_t remaining = 0;  // differences the verify after the repair found
  bool operator==(const VerifyReport&) const = default;
};

// A station's last verify as the hub keeps it for status (`last_verify`).
struct LastVerify {
  int64_t at_ms = 0;  // the hub's wall clock when the station reported (ms since the epoch)
  bool deep = false;
  bool repair = false;
  uint64_t records = 0;
  uint64_t differences = 0;
  uint64_t repaired = 0;
  uint64_t remaining = 0;
  std::string error;  // why it failed ("" if it did not)
  bool operator==(const LastVerify&) const = default;
};

}  // namespace stationsync
