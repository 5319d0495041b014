#pragma once
// Expected failures travel as values: Result<T> holds a T or an Error with a code and a message.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace inferix {

/// Error codes shared by every layer; the API maps them to HTTP statuses.
enum class Errc {
  kInvalidArgument,   // 400
  kUnauthenticated,   // 401
  kPermissionDenied,  // 403
  kNotFound,          // 404
  kConflict,          // 409
  kTooLarge,          // 413
  kUnavailable,       // 503: try again later
  kInternal,          // 500
};

/// A failure: what failed, on what, and what to do, in `message`.
struct Error {
  Errc code = Errc::kInternal;
  std::string message;
};

/// Short machine-readable name of an error code ("invalid_argument").
const char* ErrcName(Errc code);

/// Builds an Error.
inline Error MakeError(Errc code, std::string message) { return Error{code, std::move(message)}; }

/// A value or an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

/// The success value of Result<void>.
inline Result<void> Ok() { return {}; }

}  // namespace inferix

/// Returns the error of `expr` from the enclosing function when it failed.
#define INFERIX_TRY(expr)                                              \
  do {                                                                 \
    auto&& inferix_try_result_ = (expr);                               \
    if (!inferix_try_result_.ok()) return inferix_try_result_.error(); \
  } while (false)
