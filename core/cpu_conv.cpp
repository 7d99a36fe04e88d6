// Convolution kernels of the CPU backend: im2col, col2im and the argmax of max pooling, with
// stride, padding and dilation and exact bounds (no over-padding). Parallel over (n, c) planes:
// every plane is read or written by one thread only, so col2im needs no atomics.

#include <cmath>
#include <cstring>
#include <limits>

#include "core/cpu_kernels.h"

namespace dezero::cpu {
namespace {

// The [lo, hi) range of output columns ow whose input column ow*SW - PW + kw*DW is inside [0, W).
void valid_columns(const Conv2dGeometry& g, int64_t kw, int64_t& lo, int64_t& hi) {
  const int64_t offset = kw * g.DW - g.PW;  // iw = ow * SW + offset
  lo = offset >= 0 ? 0 : (-offset + g.SW - 1) / g.SW;
  hi = g.W - offset <= 0 ? 0 : (g.W - offset - 1) / g.SW + 1;
  lo = std::min(lo, g.OW);
  hi = std::clamp(hi, lo, g.OW);
}

template <class T>
void im2col_kernel(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col) {
  const T* px = x.data<T>();
  T* pc = col.data<T>();
  const int64_t L = g.OH * g.OW, plane = g.H * g.W, KK = g.KH * g.KW;
  parallel_for((n1 - n0) * g.C, std::max<int64_t>(1, kGrain / (KK * L)), [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T* src = px + (n0 * g.C + nc) * plane;
      T* dst = pc + nc * KK * L;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw, dst += L) {
          int64_t lo, hi;
          valid_columns(g, kw, lo, hi);
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            T* row = dst + oh * g.OW;
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
            if (ih < 0 || ih >= g.H) {
              std::fill(row, row + g.OW, T(0));
              continue;
            }
            std::fill(row, row + lo, T(0));
            const T* in = src + ih * g.W + kw * g.DW - g.PW;
            if (g.SW == 1)
              std::memcpy(row + lo, in + lo, (hi - lo) * sizeof(T));
            else
              for (int64_t ow = lo; ow < hi; ++ow) row[ow] = in[ow * g.SW];
            std::fill(row + hi, row + g.OW, T(0));
          }
        }
    }
  });
}

template <class T>
void col2im_kernel(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x) {
  const T* pc = col.data<T>();
  T* px = x.data<T>();
  const int64_t L = g.OH * g.OW, plane = g.H * g.W, KK = g.KH * g.KW;
  parallel_for((n1 - n0) * g.C, std::max<int64_t>(1, kGrain / (KK * L)), [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      T* dst = px + (n0 * g.C + nc) * plane;
      const T* src = pc + nc * KK * L;
      std::fill(dst, dst + plane, T(0));
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw, src += L) {
          int64_t lo, hi;
          valid_columns(g, kw, lo, hi);
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
            if (ih < 0 || ih >= g.H) continue;
            const T* row = src + oh * g.OW;
            T* out = dst + ih * g.W + kw * g.DW - g.PW;
            if (g.SW == 1)
              for (int64_t ow = lo; ow < hi; ++ow) out[ow] += row[ow];
            else
              for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.SW] += row[ow];
          }
        }
    }
  });
}

template <class T>
void max_pool_kernel(const Tensor& x, const Conv2dGeometry& g, std::span<int64_t> offsets) {
  const T* px = x.data<T>();
  const int64_t plane = g.H * g.W, L = g.OH * g.OW;
  parallel_for(g.N * g.C, std::max<int64_t>(1, kGrain / (L * g.KH * g.KW)), [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T* src = px + nc * plane;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t best = -1;
          T best_v = -std::numeric_limits<T>::infinity();
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
            if (ih < 0 || ih >= g.H) continue;
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              const int64_t iw = ow * g.SW - g.PW + kw * g.DW;
              if (iw < 0 || iw >= g.W) continue;
              const T v = src[ih * g.W + iw];
              if (best < 0 || v > best_v || (v != v && best_v == best_v)) {  // first max; NaN wins
                best = ih * g.W + iw;
                best_v = v;
              }
            }
          }
          offsets[nc * L + oh * g.OW + ow] = nc * plane + best;
        }
    }
  });
}

}  // namespace

void im2col(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col) {
  dispatch(x.dtype(), [&](auto t) { im2col_kernel<decltype(t)>(x, g, n0, n1, col); });
}

void col2im(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x) {
  dispatch(col.dtype(), [&](auto t) { col2im_kernel<decltype(t)>(col, g, n0, n1, x); });
}

void max_pool2d_argmax(const Tensor& x, const Conv2dGeometry& g, std::span<int64_t> offsets) {
  dispatch(x.dtype(), [&](auto t) { max_pool_kernel<decltype(t)>(x, g, offsets); });
}

}  // namespace dezero::cpu
