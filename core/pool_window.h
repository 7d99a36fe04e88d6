#pragma once
// The max-pooling window rule shared by the CPU and CUDA kernels (fmt-free, so nvcc compiles
// it): the offset of a window's first maximum, a NaN beating every number, padding never winning.

#include <cstdint>

#include "dezero/core/elementwise.h"

namespace dezero {

/// Offset within `plane` of the maximum of window (oh, ow); G has the fields of Conv2dGeometry.
template <class T, class G>
DZ_HOST_DEVICE int64_t window_argmax(const T* plane, const G& g, int64_t oh, int64_t ow) {
  int64_t best = -1;
  T best_v = T(0);
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const int64_t iw = ow * g.SW - g.PW + kw * g.DW;
      if (iw < 0 || iw >= g.W) continue;
      const T v = plane[ih * g.W + iw];
      if (best < 0 || v > best_v || (v != v && best_v == best_v)) {
        best = ih * g.W + iw;
        best_v = v;
      }
    }
  }
  return best;
}

}  // namespace dezero
