#include "sync/base/appended_key_set.h"

#include <algorithm>

namespace stationsync {

void AppendedKeySet::Add(std::string_view key) {
  if (sorted_ && !keys_.empty() && key < KeyAt(keys_.back())) sorted_ = false;
  keys_.push_back({bytes_.size(), key.size()});
  bytes_.append(key);
}

void AppendedKeySet::Seal() {
  if (sorted_) return;
  std::sort(keys_.begin(), keys_.end(),
            [this](const Span& a, const Span& b) { return KeyAt(a) < KeyAt(b); });
  sorted_ = true;
}

bool AppendedKeySet::Contains(std::string_view key) const {
  if (!sorted_) {
    return std::any_of(keys_.begin(), keys_.end(),
                       [&](const Span& span) { return KeyAt(span) == key; });
  }
  const auto at = std::lower_bound(
      keys_.begin(), keys_.end(), key,
      [this](const Span& span, std::string_view wanted) { return KeyAt(span) < wanted; });
  return at != keys_.end() && KeyAt(*at) == key;
}

void AppendedKeySet::Clear() {
  std::string().swap(bytes_);
  std::vector<Span>().swap(keys_);
  sorted_ = true;
}

}  // namespace stationsync
