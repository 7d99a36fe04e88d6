#pragma once
// dezero::Error and the checking macros. Every failure in the library is a dezero::Error whose
// message reads "<op>: <what is wrong>; got <shapes/devices> [file:line]".

#include <stdexcept>
#include <string>

#include <spdlog/fmt/fmt.h>

namespace dezero {

/// The one exception type of the library; what() names the op, the problem and the shapes.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// Builds the final message "<msg> [file:line]" and throws dezero::Error.
[[noreturn]] void throw_error(const std::string& msg, const char* file, int line);
}  // namespace detail

}  // namespace dezero

/// Throws dezero::Error with a fmt-formatted message when cond is false.
#define DZ_CHECK(cond, ...)                                                          \
  do {                                                                               \
    if (!(cond)) ::dezero::detail::throw_error(fmt::format(__VA_ARGS__), __FILE__, __LINE__); \
  } while (0)

/// Throws unconditionally (for the default branch of a dispatch, say).
#define DZ_THROW(...) ::dezero::detail::throw_error(fmt::format(__VA_ARGS__), __FILE__, __LINE__)

/// An internal invariant: throws "internal error: ..." (also in Release builds).
#define DZ_ASSERT(cond, ...)                                                                   \
  do {                                                                                         \
    if (!(cond))                                                                               \
      ::dezero::detail::throw_error("internal error: " + fmt::format(__VA_ARGS__), __FILE__, \
                                    __LINE__);                                                 \
  } while (0)
