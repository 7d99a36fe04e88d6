#pragma once
// Launch helpers of the .cu files (fmt-free, like kernels.h).

#include "dezero/cuda/kernels.h"

/// Grid-stride loop over [0, n).
#define DZ_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

namespace dezero::cuda::kernels {

/// Division by a divisor fixed at launch as a multiply-high, an add and a shift (Granlund and
/// Montgomery's method); exact for dividends below 2^31. Built on the host, passed by value.
struct FastDiv {
  unsigned divisor = 1, magic = 0, shift = 0;
  FastDiv() = default;
  explicit FastDiv(int64_t d) : divisor(static_cast<unsigned>(d)) {
    while (shift < 31 && (1ull << shift) < divisor) ++shift;
    magic = static_cast<unsigned>((1ull << 32) * ((1ull << shift) - divisor) / divisor + 1);
  }
  __device__ unsigned div(unsigned n) const { return (__umulhi(n, magic) + n) >> shift; }
};

/// Threads per block.
constexpr int kThreads = 256;

/// Blocks for n grid-stride work items (capped: the loop covers the rest).
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 4 ? 65535 * 4 : b));
}

/// Queues kernel over n grid-stride items; returns the launch status.
template <class... Params, class... Args>
cudaError_t launch(int64_t n, cudaStream_t s, void (*kernel)(Params...), Args... args) {
  if (n <= 0) return cudaSuccess;
  kernel<<<blocks_for(n), kThreads, 0, s>>>(args...);
  return cudaGetLastError();
}

/// Calls f(float{}) or f(double{}) and returns its status.
template <class F>
cudaError_t dispatch(DType t, F&& f) {
  return t == DType::Float32 ? f(float{}) : f(double{});
}

}  // namespace dezero::cuda::kernels
