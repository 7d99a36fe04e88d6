// Fuzzes io::parse_safetensors: any bytes either parse into tensors that tile the file's data or
// throw dezero::Error.
#include <cstdint>
#include <string_view>

#include "dezero/core/error.h"
#include "dezero/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto st = dezero::io::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    size_t total = 0;
    for (const auto& [name, t] : st.tensors) total += t.nbytes();
    if (total > size) __builtin_trap();
  } catch (const dezero::Error&) {
  }
  return 0;
}
