#include "sync/codec/capnp_io.h"

#include <cstring>

#include <kj/exception.h>

namespace stationsync {

AlignedMessage::AlignedMessage(std::string_view bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.size() > kMessageBytesMax) {
    KJ_FAIL_REQUIRE("message size is not a whole number of words within the limit", bytes.size());
  }
  words_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words_.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = words_.size() * kTraversalWordsPerWord + kTraversalWordsFloor;
  options.nestingLimit = kNestingMax;
  reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_.asPtr(), options);
}

Status DecodeGuarded(std::string_view what, const std::function<Status()>& decode) {
  Status status;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() { status = decode(); })) {
    return Invalid(std::string(what) +
                   ": malformed message: " + exception->getDescription().cStr());
  }
  return status;
}

std::string MessageBytes(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

}  // namespace stationsync
