// A set of keys built by appending and asked about afterwards: the record keys a snapshot's
// pages named, which a station checks its own keys against once the last page is in.
//
// A snapshot of a county names a million keys or more. A hash set of strings cost a station
// about 100 bytes and two allocations per key and about 5% of its loop in an initial sync
// (inserting, then freeing the set); here the keys lie back to back in one buffer, with 16 bytes of
// position each, and no allocation per key. The hub sends pages owner by owner, keys in order
// within an owner, so the keys mostly come sorted: Seal() sorts only if they did not.
//
// Invariant: Contains() is exact whether or not Seal() was called since the last Add(); Seal()
// makes it a binary search instead of a scan.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stationsync {

class AppendedKeySet {
 public:
  void Add(std::string_view key);
  // Sorts the keys if they did not come in order. Cheap when they did.
  void Seal();
  bool Contains(std::string_view key) const;
  size_t size() const { return keys_.size(); }
  // Forgets every key and gives the memory back.
  void Clear();

 private:
  struct Span {
    uint64_t offset;
    uint64_t size;
  };
  std::string_view KeyAt(const Span& span) const {
    return {bytes_.data() + span.offset, span.size};
  }

  std::string bytes_;       // the keys, back to back
  std::vector<Span> keys_;  // where each key lies in bytes_
  bool sorted_ = true;      // keys_ is in key order (duplicates allowed)
};

}  // namespace stationsync
