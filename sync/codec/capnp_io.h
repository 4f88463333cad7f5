// The one place where Cap'n Proto bytes from disk or the network are turned into readers.
//
// Cap'n Proto 0.9.2 throws on unaligned buffers and on malformed input, so every decode copies
// the bytes into a word-aligned buffer, reads them with explicit limits, and runs inside
// DecodeGuarded, which turns any kj::Exception into a Status. Nothing else in the tree catches
// kj exceptions.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "sync/base/status.h"

namespace stationsync {

inline constexpr size_t kMessageBytesMax = 4 * 1024 * 1024;
inline constexpr int kNestingMax = 16;
// Decoding budget: a reader may traverse at most this many words per word of the message (plus
// a small floor), so a list that claims more elements than its bytes can hold (Cap'n Proto
// charges even zero-sized elements) fails before anything proportional to the claim is made.
// Our decoders read each part of a message about once; 4 leaves room for the few read twice.
inline constexpr uint64_t kTraversalWordsPerWord = 4;
inline constexpr uint64_t kTraversalWordsFloor = 64;

// Owns an aligned copy of the bytes and a reader over them.
class AlignedMessage {
 public:
  explicit AlignedMessage(std::string_view bytes);
  template <typename T>
  typename T::Reader Root() {
    return reader_->getRoot<T>();
  }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// Runs `decode`, converting a kj::Exception (malformed, truncated, over the limits) into
// Invalid("<what>: <reason>").
Status DecodeGuarded(std::string_view what, const std::function<Status()>& decode);

// Decodes `bytes` as a message whose root is `Root`, turning the root reader into a value with
// `read` (which returns Result<T>), all inside DecodeGuarded.
template <typename Root, typename Read>
auto DecodeMessage(std::string_view what, std::string_view bytes, Read read)
    -> decltype(read(std::declval<typename Root::Reader>())) {
  using ResultT = decltype(read(std::declval<typename Root::Reader>()));
  ResultT result = Invalid(std::string(what) + ": not decoded");
  const Status status = DecodeGuarded(what, [&] {
    AlignedMessage message(bytes);
    result = read(message.Root<Root>());
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return result;
}

// The flat bytes of a message.
std::string MessageBytes(capnp::MessageBuilder& message);

}  // namespace stationsync
