// See digest.h.
#include "sync/storage/digest.h"

#include <cstring>

#include <fmt/format.h>
#include <sodium.h>

namespace stationsync {
namespace {

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

}  // namespace

RecordHash HashRecordBytes(std::string_view encoded) {
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(encoded.data()),
                     encoded.size(), nullptr, 0);
  RecordHash hash;
  for (size_t limb = 0; limb < hash.size(); ++limb) {
    hash[limb] = GetU64(std::string_view(reinterpret_cast<const char*>(out) + 8 * limb, 8));
  }
  return hash;
}

void DigestBucket::Add(const RecordHash& hash) {
  uint64_t carry = 0;
  for (size_t limb = 0; limb < sum.size(); ++limb) {
    const uint64_t partial = sum[limb] + hash[limb];
    const uint64_t total = partial + carry;
    carry = (partial < sum[limb] || total < partial) ? 1 : 0;
    sum[limb] = total;
  }
  ++records;
}

void DigestBucket::Remove(const RecordHash& hash) {
  uint64_t borrow = 0;
  for (size_t limb = 0; limb < sum.size(); ++limb) {
    const uint64_t before = sum[limb];
    const uint64_t partial = before - hash[limb];
    sum[limb] = partial - borrow;
    borrow = (before < hash[limb] || partial < borrow) ? 1 : 0;
  }
  --records;
}

void DigestBucket::Add(const DigestBucket& other) {
  Add(other.sum);
  records += other.records - 1;  // Add(hash) counted one record
}

std::string DigestBucket::Encode() const {
  std::string out;
  PutU64(out, records);
  for (uint64_t limb : sum) PutU64(out, limb);
  return out;
}

bool DigestBucket::Decode(std::string_view bytes, DigestBucket& out) {
  if (bytes.size() != 40) return false;
  out.records = GetU64(bytes);
  for (size_t limb = 0; limb < out.sum.size(); ++limb) {
    out.sum[limb] = GetU64(bytes.substr(8 + 8 * limb));
  }
  return true;
}

ScopeDigest MakeScopeDigest(std::vector<std::string> scope, const DigestBucket& total) {
  const std::string bytes = total.Encode();
  unsigned char root[32];
  crypto_generichash(root, sizeof root, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  ScopeDigest digest;
  digest.scope = std::move(scope);
  digest.records = total.records;
  for (unsigned char byte : root) digest.root += fmt::format("{:02x}", byte);
  return digest;
}

}  // namespace stationsync
