// Fuzzes datasets::parse_idx (gzip or raw) with 1 and 3 dimensions, the two MNIST layouts: any
// bytes either parse into data of exactly the promised size or throw dezero::Error.
#include <cstdint>
#include <string_view>

#include "dezero/core/error.h"
#include "dezero/datasets/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (uint32_t ndims : {1u, 3u}) {
    try {
      const auto idx = dezero::datasets::parse_idx(bytes, ndims, "fuzz");
      uint64_t count = 1;
      for (uint32_t d : idx.dims) count *= d;
      if (idx.dims.size() != ndims || idx.data.size() != count) __builtin_trap();
    } catch (const dezero::Error&) {
    }
  }
  return 0;
}
