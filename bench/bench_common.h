#pragma once
// What the benchmarks share: the convolution issue's six configurations and class labels.

#include <string>
#include <vector>

#include <dezero/dezero.h>

namespace dezero::bench {

/// One conv2d configuration: x (N, C, H, W), OC filters of k x k, stride, pad, groups.
struct ConvConfig {
  int64_t N, C, H, W, OC, k, stride, pad, groups;
};

/// The convolution issue's six configurations (dense, grouped, depthwise, large, wide-grouped).
inline const ConvConfig kConvConfigs[] = {
    {64, 1, 28, 28, 32, 3, 1, 1, 1},   {64, 32, 14, 14, 64, 3, 1, 1, 1},  {64, 32, 14, 14, 64, 3, 1, 1, 4},
    {64, 64, 14, 14, 64, 3, 1, 1, 64}, {32, 64, 56, 56, 64, 3, 1, 1, 1},  {32, 128, 28, 28, 128, 3, 1, 1, 32},
};

/// "(N,C,H,W,OC,k,stride,pad,groups)".
inline std::string label(const ConvConfig& c) {
  return fmt::format("({},{},{},{},{},{},{},{},{})", c.N, c.C, c.H, c.W, c.OC, c.k, c.stride, c.pad, c.groups);
}

/// Labels 0, 1, ..., 9, 0, 1, ... for a batch of n (float32, as dezero's losses take them).
inline Tensor labels(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 10);
  return Tensor::from_vector(v);
}

}  // namespace dezero::bench
