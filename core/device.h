#pragma once
// Where a tensor lives and what its elements are.

#include <cstddef>

namespace dezero {

/// The device a tensor's storage lives on.
enum class Device { CPU, CUDA };

/// Element type; float32 is the default, float64 is for gradient checks.
enum class DType { Float32, Float64 };

/// Short spellings as in DESIGN §10: dezero::Float32, dezero::Float64.
inline constexpr DType Float32 = DType::Float32;
/// Short spelling of DType::Float64.
inline constexpr DType Float64 = DType::Float64;

/// Bytes per element.
constexpr size_t dtype_size(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

/// "float32" / "float64", as NumPy prints them.
constexpr const char* to_string(DType dtype) {
  return dtype == DType::Float32 ? "float32" : "float64";
}

/// "cpu" / "cuda:0".
constexpr const char* to_string(Device device) { return device == Device::CPU ? "cpu" : "cuda:0"; }

}  // namespace dezero
