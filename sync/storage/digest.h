// Digests of a replica's records by scope: equal roots <=> identical records (ids, owners,
// fields, deletion state and versions), without reading the records.
//
// Each record hashes to 256 bits (BLAKE2b over its stored encoding, which is the same on every
// replica that holds the same state). A bucket per owner keeps the number of records it owns
// (tombstones included) and the sum of their hashes modulo 2^256. A sum can take a record out
// as cheaply as it puts one in, so the replica updates the buckets in the same batch as each
// record change, and the digest of a scope is the sum over its owners' buckets.
//
// Invariant: a bucket equals the fold of RecordHash over the records of its owner held in the
// store (Replica::CheckIntegrity checks it).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stationsync {

using RecordHash = std::array<uint64_t, 4>;  // little-endian limbs of a 256-bit number

// The hash of a record's stored encoding (record_codec.h's EncodeRecord).
RecordHash HashRecordBytes(std::string_view encoded);

struct DigestBucket {
  uint64_t records = 0;
  RecordHash sum{};

  void Add(const RecordHash& hash);
  void Remove(const RecordHash& hash);
  void Add(const DigestBucket& other);
  bool operator==(const DigestBucket&) const = default;

  std::string Encode() const;  // 40 bytes, for the store
  static bool Decode(std::string_view bytes, DigestBucket& out);
};

// A scope's digest as `syncctl digest` prints it.
struct ScopeDigest {
  std::vector<std::string> scope;  // unit codes, sorted
  uint64_t records = 0;            // records owned by those units, tombstones included
  std::string root;                // 64 hex digits
  bool operator==(const ScopeDigest&) const = default;
};

// The digest of `scope` from the sum of its owners' buckets.
ScopeDigest MakeScopeDigest(std::vector<std::string> scope, const DigestBucket& total);

}  // namespace stationsync
