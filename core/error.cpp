#include "dezero/core/error.h"

#include <cstring>

namespace dezero::detail {

void throw_error(const std::string& msg, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(fmt::format("{} [{}:{}]", msg, base ? base + 1 : file, line));
}

}  // namespace dezero::detail
