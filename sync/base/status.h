// Status and Result<T>: errors as values at module boundaries.
//
// A Code tells the caller what to do, and maps one-to-one onto the exit codes every tool uses
// (see ExitCode). Exceptions from libraries (kj, zmq, rocksdb's status) are turned into a Status
// at the edge that calls them; sync logic never throws for expected failures.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace stationsync {

enum class Code {
  kOk = 0,
  kNotFound = 1,     // a negative answer: the thing asked for is not there
  kInvalid = 2,      // bad input or usage: fix it and try again
  kUnavailable = 3,  // unreachable, timed out, locked: retry later
  kRefused = 4,      // not permitted, out of scope
  kInternal = 5,     // storage or internal error, corruption: an operator must look
};

// The process exit code for a result of this kind (0 ok .. 5 storage/internal).
inline int ExitCode(Code code) {
  return static_cast<int>(code);
}

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid: field sex: ..." for logs and error lines.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status NotFound(std::string m) {
  return {Code::kNotFound, std::move(m)};
}
inline Status Invalid(std::string m) {
  return {Code::kInvalid, std::move(m)};
}
inline Status Unavailable(std::string m) {
  return {Code::kUnavailable, std::move(m)};
}
inline Status Refused(std::string m) {
  return {Code::kRefused, std::move(m)};
}
inline Status Internal(std::string m) {
  return {Code::kInternal, std::move(m)};
}

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace stationsync

// Returns early from the calling function with the status if it is not ok.
#define SS_RETURN_IF_ERROR(expr)        \
  do {                                  \
    ::stationsync::Status _st = (expr); \
    if (!_st.ok()) return _st;          \
  } while (false)
