// Convolution kernels of the CPU backend: im2col, col2im and the argmax of max pooling, with
// stride, padding and dilation and exact bounds (no over-padding). Parallel over (n, c) planes:
// every plane is read or written by one thread only, so col2im needs no atomics.

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "dezero/core/cpu_kernels.h"
#include "dezero/core/cpu_lanes.h"
#include "dezero/core/pool_window.h"

namespace dezero::cpu {
namespace {

// With stride 1 (both axes) and OW == W, output row oh of tap (kh, kw) is input row ih shifted by
// kw DW - PW, and consecutive oh are consecutive ih: the valid rows [oh0, oh1) of the output rows
// [r0, r1) written to dst are one memcpy of (oh1 - oh0) W elements, after which the columns that
// wrapped around a row edge are zeroed.
template <class T>
void copy_shifted_rows(const T* src, T* dst, const Conv2dGeometry& g, int64_t kh, int64_t kw, int64_t lo, int64_t hi,
                       int64_t r0, int64_t r1) {
  const int64_t shift = kh * g.DH - g.PH;  // ih = oh + shift
  const int64_t oh0 = std::clamp<int64_t>(-shift, r0, r1), oh1 = std::clamp<int64_t>(g.H - shift, oh0, r1);
  if (lo >= hi) {  // the tap lies left or right of the image for every output column
    std::fill(dst, dst + (r1 - r0) * g.OW, T(0));
    return;
  }
  std::fill(dst, dst + (oh0 - r0) * g.OW, T(0));
  std::fill(dst + (oh1 - r0) * g.OW, dst + (r1 - r0) * g.OW, T(0));
  if (oh1 == oh0) return;
  const int64_t offset = kw * g.DW - g.PW;
  // Elements [lo, hi) of each row are in range; the run may start before src or end after it
  // only in the wrapped parts, which are clipped here and zeroed below.
  const int64_t first = (oh0 + shift) * g.W + offset, count = (oh1 - oh0) * g.W;
  const int64_t skip = std::clamp<int64_t>(-first, 0, count);
  const int64_t end = std::clamp<int64_t>(g.H * g.W - first, skip, count);
  T* out = dst + (oh0 - r0) * g.OW;
  if (end > skip) std::memcpy(out + skip, src + first + skip, (end - skip) * sizeof(T));
  std::fill(out, out + skip, T(0));
  std::fill(out + end, out + count, T(0));
  if (lo == 0 && hi == g.OW) return;
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    T* row = dst + (oh - r0) * g.OW;
    zero_short(row, lo);
    zero_short(row + hi, g.OW - hi);
  }
}

template <class T>
void im2col_kernel(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col, int64_t ld,
                   int64_t r0, int64_t r1) {
  const T* px = x.data<T>();
  T* pc = col.data<T>();
  const int64_t L = (r1 - r0) * g.OW, plane = g.H * g.W, KK = g.KH * g.KW;
  const bool same_width = g.SH == 1 && g.SW == 1 && g.OW == g.W;
  parallel_for((n1 - n0) * g.C, std::max<int64_t>(1, kGrain / (KK * L)), [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T* src = px + (n0 * g.C + nc) * plane;
      T* dst = pc + nc * KK * ld;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw, dst += ld) {
          int64_t lo, hi;
          valid_columns(g, kw, lo, hi);
          if (same_width) {  // rows in range form one contiguous run; then zero what wrapped
            copy_shifted_rows(src, dst, g, kh, kw, lo, hi, r0, r1);
            continue;
          }
          for (int64_t oh = r0; oh < r1; ++oh) {
            T* row = dst + (oh - r0) * g.OW;
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
            if (ih < 0 || ih >= g.H) {
              std::fill(row, row + g.OW, T(0));
              continue;
            }
            zero_short(row, lo);
            const T* in = src + ih * g.W + kw * g.DW - g.PW;
            if (g.SW == 1)
              std::memcpy(row + lo, in + lo, (hi - lo) * sizeof(T));
            else
              for (int64_t ow = lo; ow < hi; ++ow) row[ow] = in[ow * g.SW];
            zero_short(row + hi, g.OW - hi);
          }
        }
    }
  });
}

// col2im's same-width case (see copy_shifted_rows): tap (kh, kw)'s valid rows of the output rows
// [r0, r1) in src add to the image as one contiguous run, with keep[j] = 0 at the columns that
// wrapped around a row edge (a select, not a product, so non-finite values there cannot leak in).
template <class T>
void add_shifted_rows(const T* __restrict src, T* __restrict dst, const T* __restrict keep, const Conv2dGeometry& g,
                      int64_t kh, int64_t kw, int64_t r0, int64_t r1) {
  const int64_t shift = kh * g.DH - g.PH;
  const int64_t oh0 = std::clamp<int64_t>(-shift, r0, r1), oh1 = std::clamp<int64_t>(g.H - shift, oh0, r1);
  const int64_t first = (oh0 + shift) * g.W + kw * g.DW - g.PW, count = (oh1 - oh0) * g.W;
  const int64_t skip = std::clamp<int64_t>(-first, 0, count);
  const int64_t end = std::clamp<int64_t>(g.H * g.W - first, skip, count);
  if (end <= skip) return;  // no tap of this (kh, kw) lands in the image
  const T* in = src + (oh0 - r0) * g.OW + skip;
  const T* k = keep + skip;  // the same flags in every row
  T* out = dst + first + skip;
  for (int64_t j = 0; j < end - skip; ++j) out[j] += k[j] != T(0) ? in[j] : T(0);
}

// Output rows [r0, r1) of the columns add into the image; all rows overwrite it.
template <class T>
void col2im_kernel(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x, int64_t ld,
                   int64_t r0, int64_t r1) {
  const T* pc = col.data<T>();
  T* px = x.data<T>();
  const int64_t L = (r1 - r0) * g.OW, plane = g.H * g.W, KK = g.KH * g.KW;
  const bool same_width = g.SH == 1 && g.SW == 1 && g.OW == g.W;
  const bool overwrite = r0 == 0 && r1 == g.OH;
  std::vector<T> keep;  // per kw, L flags: 1 where output column ow is inside [lo, hi)
  if (same_width) {
    keep.assign(static_cast<size_t>(g.KW * L), T(0));
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      int64_t lo, hi;
      valid_columns(g, kw, lo, hi);
      for (int64_t oh = 0; oh < r1 - r0; ++oh)
        std::fill(keep.begin() + kw * L + oh * g.OW + lo, keep.begin() + kw * L + oh * g.OW + hi, T(1));
    }
  }
  parallel_for((n1 - n0) * g.C, std::max<int64_t>(1, kGrain / (KK * L)), [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      T* dst = px + (n0 * g.C + nc) * plane;
      const T* src = pc + nc * KK * ld;
      if (overwrite) std::fill(dst, dst + plane, T(0));
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw, src += ld) {
          if (same_width) {
            add_shifted_rows(src, dst, keep.data() + kw * L, g, kh, kw, r0, r1);
            continue;
          }
          int64_t lo, hi;
          valid_columns(g, kw, lo, hi);
          for (int64_t oh = r0; oh < r1; ++oh) {
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
            if (ih < 0 || ih >= g.H) continue;
            const T* row = src + (oh - r0) * g.OW;
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

// A window that can reach the padding (or, in ceil mode, past the edge): bounds checked per tap.
template <class T>
void max_pool_padded(const T* src, int64_t origin, const Conv2dGeometry& g, int64_t* out) {
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) out[oh * g.OW + ow] = origin + window_argmax(src, g, oh, ow);
}

// When every window lies inside the image (windows_inside()): per output row, the first tap seeds a row
// of (value, offset) and each further tap is compared with it lane by lane (same order and
// tie/NaN rule as above; the compiler vectorizes the selects). kSW > 0 fixes the stride.
template <int kSW, class T>
void max_pool_unpadded(const T* __restrict src, int64_t origin, const Conv2dGeometry& g,
                       int64_t* __restrict out, T* __restrict best) {
  const int64_t SW = kSW > 0 ? kSW : g.SW, OW = g.OW, W = g.W;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    int64_t* __restrict where = out + oh * OW;
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t base = (oh * g.SH + kh * g.DH) * W + kw * g.DW;
        const T* __restrict row = src + base;
        const int64_t at = origin + base;
        if (kh == 0 && kw == 0) {
          for (int64_t ow = 0; ow < OW; ++ow) {
            best[ow] = row[ow * SW];
            where[ow] = at + ow * SW;
          }
          continue;
        }
#pragma omp simd
        for (int64_t ow = 0; ow < OW; ++ow) {
          const T v = row[ow * SW], b = best[ow];
          const bool take = v > b || (v != v && b == b);
          best[ow] = take ? v : b;
          where[ow] = take ? at + ow * SW : where[ow];
        }
      }
  }
}

// The common 2x2 window with stride 2 and no padding: all four taps of an output in one pass.
template <class T>
void max_pool_2x2(const T* __restrict src, int64_t origin, const Conv2dGeometry& g, int64_t* __restrict out) {
  const int64_t OW = g.OW, W = g.W, DH = g.DH * W, DW = g.DW;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const int64_t top = 2 * oh * W;
    const T* __restrict row = src + top;
    int64_t* __restrict where = out + oh * OW;
#pragma omp simd
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t i = 2 * ow;
      T best = row[i];
      int64_t at = i;
      auto consider = [&](int64_t j) {
        const T v = row[j];
        const bool take = v > best || (v != v && best == best);
        best = take ? v : best;
        at = take ? j : at;
      };
      consider(i + DW);
      consider(i + DH);
      consider(i + DH + DW);
      where[ow] = origin + top + at;
    }
  }
}

#if defined(__AVX512F__)
// max_pool_2x2 for float without dilation, 16 outputs per step: each pair of input rows is loaded
// as 32 + 32 floats and split into even and odd columns (one permute each), then the four taps
// are compared in the same order and with the same tie/NaN rule as the scalar loop; stores the
// maxima and their offsets.
void max_pool_2x2_f32(const float* src, int64_t origin, const Conv2dGeometry& g, int64_t* out, float* values) {
  const int64_t OW = g.OW, W = g.W;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const int64_t top = 2 * oh * W;
    for (int64_t ow = 0; ow < OW; ow += 16) {
      const int64_t n = std::min<int64_t>(16, OW - ow);
      const __mmask16 m0 = first_lanes_mask(2 * n), m1 = first_lanes_mask(2 * n - 16);
      const float* row = src + top + 2 * ow;
      const __m512 t0 = _mm512_maskz_loadu_ps(m0, row), t1 = _mm512_maskz_loadu_ps(m1, row + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(m0, row + W), b1 = _mm512_maskz_loadu_ps(m1, row + W + 16);
      __m512 best = _mm512_permutex2var_ps(t0, even, t1);
      // offset of output lane i = first + 2 i + the winning tap's offset, in 64 bits (lanes 0-7, 8-15)
      const __m512i first = _mm512_set1_epi64(origin + top + 2 * ow);
      __m512i lo = _mm512_add_epi64(first, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14));
      __m512i hi = _mm512_add_epi64(first, _mm512_setr_epi64(16, 18, 20, 22, 24, 26, 28, 30));
      const __m512i lo0 = lo, hi0 = hi;
      auto consider = [&](__m512 v, int64_t offset) {
        const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                               (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
        best = _mm512_mask_mov_ps(best, take, v);
        const __m512i step = _mm512_set1_epi64(offset);
        lo = _mm512_mask_add_epi64(lo, static_cast<__mmask8>(take), lo0, step);
        hi = _mm512_mask_add_epi64(hi, static_cast<__mmask8>(take >> 8), hi0, step);
      };
      consider(_mm512_permutex2var_ps(t0, odd, t1), 1);
      consider(_mm512_permutex2var_ps(b0, even, b1), W);
      consider(_mm512_permutex2var_ps(b0, odd, b1), W + 1);
      _mm512_mask_storeu_ps(values + oh * OW + ow, first_lanes_mask(n), best);
      int64_t* where = out + oh * OW + ow;
      _mm512_mask_storeu_epi64(where, static_cast<__mmask8>(first_lanes_mask(n)), lo);
      _mm512_mask_storeu_epi64(where + 8, static_cast<__mmask8>(first_lanes_mask(n - 8)), hi);
    }
  }
}
#endif

// The 2x2 stride-2 windows; true when the maxima were stored in `values` too.
template <class T>
bool max_pool_2x2_fast(const T* src, int64_t origin, const Conv2dGeometry& g, int64_t* out, T* values) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (g.DH == 1 && g.DW == 1) {
      max_pool_2x2_f32(src, origin, g, out, values);
      return true;
    }
  }
#endif
  (void)values;
  max_pool_2x2(src, origin, g, out);
  return false;
}

// Per plane: the offsets, then the values read back while the plane is still in cache (the
// float 2x2 kernel stores its maxima directly).
template <class T>
void max_pool_kernel(const Tensor& x, const Conv2dGeometry& g, std::span<int64_t> offsets, Tensor& y) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t plane = g.H * g.W, L = g.OH * g.OW;
  const bool padded = !g.windows_inside();
  parallel_for(g.N * g.C, std::max<int64_t>(1, kGrain / (L * g.KH * g.KW)), [&](int64_t b, int64_t e) {
    std::vector<T> best(static_cast<size_t>(g.OW));
    for (int64_t nc = b; nc < e; ++nc) {
      const T* src = px + nc * plane;
      int64_t* out = offsets.data() + nc * L;
      T* values = py + nc * L;
      if (padded)
        max_pool_padded(src, nc * plane, g, out);
      else if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2) {
        if (max_pool_2x2_fast(src, nc * plane, g, out, values)) continue;
      } else if (g.SW == 2)
        max_pool_unpadded<2>(src, nc * plane, g, out, best.data());
      else if (g.SW == 1)
        max_pool_unpadded<1>(src, nc * plane, g, out, best.data());
      else
        max_pool_unpadded<0>(src, nc * plane, g, out, best.data());
      for (int64_t i = 0; i < L; ++i) values[i] = px[out[i]];
    }
  });
}

}  // namespace

void im2col(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col, int64_t ld,
            OutputRows rows) {
  const int64_t r1 = rows.end < 0 ? g.OH : rows.end;
  const int64_t stride = ld > 0 ? ld : (r1 - rows.begin) * g.OW;
  dispatch(x.dtype(), [&](auto t) { im2col_kernel<decltype(t)>(x, g, n0, n1, col, stride, rows.begin, r1); });
}

void col2im(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x, int64_t ld,
            OutputRows rows) {
  const int64_t r1 = rows.end < 0 ? g.OH : rows.end;
  const int64_t stride = ld > 0 ? ld : (r1 - rows.begin) * g.OW;
  dispatch(col.dtype(), [&](auto t) { col2im_kernel<decltype(t)>(col, g, n0, n1, x, stride, rows.begin, r1); });
}

void max_pool2d(const Tensor& x, const Conv2dGeometry& g, std::span<int64_t> offsets, Tensor& y) {
  dispatch(x.dtype(), [&](auto t) { max_pool_kernel<decltype(t)>(x, g, offsets, y); });
}

}  // namespace dezero::cpu
