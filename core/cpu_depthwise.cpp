// Direct depthwise convolution kernels of the CPU backend (groups = C = OC). Per (n, c) plane a
// depthwise conv is a sum of KH*KW shifted, scaled copies of the input. Each thread copies its
// planes into a zero-bordered buffer (the border is written once), then computes blocks of
// kLanes outputs for up to kRows output rows at once: kRows independent accumulator chains, so
// the FMAs overlap instead of waiting on each other's latency, with no bounds checks inside.
// The 3x3, stride-1, undilated kernel (most depthwise layers) has loops of its own: each padded
// row is loaded once as aligned vectors and shifted by one and two columns in registers, where
// the general loop loads every tap again, most of them across two cache lines.

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "dezero/core/cpu_kernels.h"
#include "dezero/core/cpu_lanes.h"

namespace dezero::cpu {
namespace {

constexpr int kRows = 8;

// A zero-bordered copy of one plane: H + 2 ph rows of W + 2 pw, then `slack` zeros. Rows start
// 64-byte aligned, stride() apart: whole vectors, plus one so that a row's last vector has a
// next one to shift in from.
template <class T>
class PaddedPlane {
 public:
  PaddedPlane(int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t slack)
      : H_(H), W_(W), ph_(ph), pw_(pw), stride_((W + 2 * pw + kLanes - 1) / kLanes * kLanes + kLanes) {
    const int64_t size = (H + 2 * ph) * stride_ + slack;
    storage_ = allocate(static_cast<size_t>(size) * sizeof(T));
    std::fill(data(), data() + size, T(0));
  }
  /// Copies plane (H x W) into the interior; the border stays zero.
  const T* load(const T* plane) {
    for (int64_t h = 0; h < H_; ++h) copy_row(plane + h * W_, data() + (h + ph_) * stride_ + pw_, W_);
    return data();
  }
  int64_t stride() const { return stride_; }

 private:
  T* data() { return static_cast<T*>(storage_.get()); }
  int64_t H_, W_, ph_, pw_, stride_;
  std::shared_ptr<void> storage_;
};

// Whether the kernels for a 3x3, stride-1, undilated window apply.
bool is_3x3_unit(int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t DH, int64_t DW) {
  return KH == 3 && KW == 3 && SH == 1 && SW == 1 && DH == 1 && DW == 1;
}

// One plane's correlation: out (OH x OW) = bias + sum over taps of w[kh, kw] * in[(oh SH + kh DH)
// * stride + ow SW + kw DW], `in` zero-padded with at least kLanes SW elements of slack.
template <class T>
struct Correlation {
  const T* in;
  int64_t stride;
  const T* w;
  T bias;
  int64_t OH, OW, KH, KW, SH, SW, DH, DW;
};

template <bool kUnitStride, class T>
Lanes<T> load_input(const T* p, int64_t SW) {
  if constexpr (kUnitStride) return load_lanes(p);
  else return load_strided(p, SW);
}

// Output rows [oh0, oh0 + R).
template <int R, bool kUnitStride, class T>
void correlate_rows(const Correlation<T>& c, int64_t oh0, T* out) {
  const int64_t row_step = c.SH * c.stride;
  for (int64_t ow0 = 0; ow0 < c.OW; ow0 += kLanes) {
    Lanes<T> acc[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r] = c.bias + Lanes<T>{};
    for (int64_t kh = 0; kh < c.KH; ++kh)
      for (int64_t kw = 0; kw < c.KW; ++kw) {
        const T wv = c.w[kh * c.KW + kw];
        const T* in = c.in + (oh0 * c.SH + kh * c.DH) * c.stride + ow0 * c.SW + kw * c.DW;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r] += wv * load_input<kUnitStride>(in + r * row_step, c.SW);
      }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) store_first(out + (oh0 + r) * c.OW + ow0, acc[r], c.OW - ow0);
  }
}

template <bool kUnitStride, class T, size_t... R>
constexpr auto correlate_kernels(std::index_sequence<R...>) {
  return std::array<void (*)(const Correlation<T>&, int64_t, T*), sizeof...(R)>{
      {&correlate_rows<static_cast<int>(R) + 1, kUnitStride, T>...}};
}

template <bool kUnitStride, class T>
void correlate_plane_impl(const Correlation<T>& c, T* out) {
  static constexpr auto kernels = correlate_kernels<kUnitStride, T>(std::make_index_sequence<kRows>{});
  for (int64_t oh = 0; oh < c.OH; oh += kRows) kernels[std::min<int64_t>(kRows, c.OH - oh) - 1](c, oh, out);
}

// correlate_rows<R> for a 3x3, stride-1, undilated window: padded row oh0 + i feeds output rows
// oh0 + i - kh (kh = 0, 1, 2), its three column shifts computed once.
template <int R, class T>
void correlate_3x3_rows(const Correlation<T>& shared, int64_t oh0, T* out) {
  const Correlation<T> c = shared;  // a local copy: the stores to out cannot change it
  Lanes<T> w[9];
  for (int k = 0; k < 9; ++k) w[k] = c.w[k] + Lanes<T>{};
  for (int64_t ow0 = 0; ow0 < c.OW; ow0 += kLanes) {
    Lanes<T> acc[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r] = c.bias + Lanes<T>{};
#pragma GCC unroll 10
    for (int i = 0; i < R + 2; ++i) {
      const T* row = c.in + (oh0 + i) * c.stride + ow0;
      const Lanes<T> at = load_lanes(row), next = load_lanes(row + kLanes);
      const Lanes<T> at1 = shift_lanes<1, T>(at, next), at2 = shift_lanes<2, T>(at, next);
#pragma GCC unroll 3
      for (int kh = 0; kh < 3; ++kh) {
        const int r = i - kh;
        if (r < 0 || r >= R) continue;
        acc[r] += w[3 * kh] * at;
        acc[r] += w[3 * kh + 1] * at1;
        acc[r] += w[3 * kh + 2] * at2;
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) store_first(out + (oh0 + r) * c.OW + ow0, acc[r], c.OW - ow0);
  }
}

template <class T, size_t... R>
constexpr auto correlate_3x3_kernels(std::index_sequence<R...>) {
  return std::array<void (*)(const Correlation<T>&, int64_t, T*), sizeof...(R)>{
      {&correlate_3x3_rows<static_cast<int>(R) + 1, T>...}};
}

template <class T>
void correlate_plane(const Correlation<T>& c, T* out) {
  if (is_3x3_unit(c.KH, c.KW, c.SH, c.SW, c.DH, c.DW)) {
    static constexpr auto kernels = correlate_3x3_kernels<T>(std::make_index_sequence<kRows>{});
    for (int64_t oh = 0; oh < c.OH; oh += kRows) kernels[std::min<int64_t>(kRows, c.OH - oh) - 1](c, oh, out);
  } else if (c.SW == 1) {
    correlate_plane_impl<true>(c, out);
  } else {
    correlate_plane_impl<false>(c, out);
  }
}

template <class T>
void depthwise_kernel(const T* x, const T* w, const T* b, T* y, const Conv2dGeometry& g) {
  const int64_t plane = g.H * g.W, L = g.OH * g.OW, KK = g.KH * g.KW;
  parallel_for(g.N * g.C, std::max<int64_t>(1, kGrain / (KK * L)), [&](int64_t begin, int64_t end) {
    PaddedPlane<T> padded(g.H, g.W, g.PH, g.PW, kLanes * g.SW);
    for (int64_t nc = begin; nc < end; ++nc) {
      const Correlation<T> c{padded.load(x + nc * plane), padded.stride(), w + (nc % g.C) * KK,
                             b ? b[nc % g.C] : T(0), g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW};
      correlate_plane(c, y + nc * L);
    }
  });
}

// gx = the transposed depthwise conv of gy. With stride 1 it is a correlation of gy, padded by
// D (K - 1) - P, with the flipped kernel (same fast loop); otherwise a scatter of each output.
template <class T>
void depthwise_grad_x_kernel(const T* gy, const T* w, T* gx, const Conv2dGeometry& g) {
  const int64_t plane = g.H * g.W, L = g.OH * g.OW, KK = g.KH * g.KW;
  const int64_t qh = g.DH * (g.KH - 1) - g.PH, qw = g.DW * (g.KW - 1) - g.PW;
  const bool gather = g.SH == 1 && g.SW == 1 && qh >= 0 && qw >= 0;
  parallel_for(g.N * g.C, std::max<int64_t>(1, kGrain / (KK * L)), [&](int64_t b, int64_t e) {
    std::vector<T> flipped(static_cast<size_t>(KK));
    PaddedPlane<T> padded(gather ? g.OH : 0, gather ? g.OW : 0, gather ? qh : 0, gather ? qw : 0, kLanes);
    for (int64_t nc = b; nc < e; ++nc) {
      const T* wp = w + (nc % g.C) * KK;
      T* xp = gx + nc * plane;
      if (gather) {
        for (int64_t k = 0; k < KK; ++k) flipped[k] = wp[KK - 1 - k];
        const Correlation<T> c{padded.load(gy + nc * L), padded.stride(), flipped.data(), T(0),
                               g.H, g.W, g.KH, g.KW, 1, 1, g.DH, g.DW};
        correlate_plane(c, xp);
        continue;
      }
      const T* gp = gy + nc * L;
      std::fill(xp, xp + plane, T(0));
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const T wv = wp[kh * g.KW + kw];
          int64_t lo, hi;
          valid_columns(g, kw, lo, hi);
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
            if (ih < 0 || ih >= g.H) continue;
            T* in = xp + ih * g.W + kw * g.DW - g.PW;
            const T* out = gp + oh * g.OW;
            for (int64_t ow = lo; ow < hi; ++ow) in[ow * g.SW] += wv * out[ow];
          }
        }
    }
  });
}

// Elements tap[0], tap[SW], ... of the first n lanes, zeros after (masked: values past the row
// cannot leak into a sum, not even infinities).
template <bool kUnitStride, class T>
Lanes<T> load_tap(const T* tap, int64_t n, int64_t SW) {
  if constexpr (kUnitStride) return load_first(tap, n);
  Lanes<T> v = {};
  for (int64_t i = 0; i < n; ++i) v[i] = tap[i * SW];
  return v;
}

// Asks for the cache lines of p[0 .. n) ahead of their use.
template <class T>
void prefetch(const T* p, int64_t n) {
  const char* bytes = reinterpret_cast<const char*>(p);
  for (int64_t i = 0; i < n * static_cast<int64_t>(sizeof(T)); i += 64) __builtin_prefetch(bytes + i);
}

// acc[k] += gy[oh, ow] * xp[oh SH stride + ow SW + offsets[k]] over the plane, for the TAPS taps
// at `offsets`: one gy load feeds TAPS independent accumulator chains held in registers.
template <int TAPS, bool kUnitStride, class T>
void tap_sums(const T* gy, const T* xp, int64_t stride, const int64_t* offsets, const Conv2dGeometry& g,
              Lanes<T>* sums) {
  Lanes<T> acc[TAPS];
  int64_t offset[TAPS];
#pragma GCC unroll 16
  for (int k = 0; k < TAPS; ++k) {
    acc[k] = sums[k];
    offset[k] = offsets[k];
  }
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow0 = 0; ow0 < g.OW; ow0 += kLanes) {
      const int64_t n = std::min(kLanes, g.OW - ow0);
      const Lanes<T> gv = load_first(gy + oh * g.OW + ow0, n);
      const T* row = xp + oh * g.SH * stride + ow0 * g.SW;
#pragma GCC unroll 16
      for (int k = 0; k < TAPS; ++k) acc[k] += gv * load_tap<kUnitStride>(row + offset[k], n, g.SW);
    }
  for (int k = 0; k < TAPS; ++k) sums[k] = acc[k];
}

// tap_sums for all nine taps of a 3x3, stride-1, undilated window: padded row i feeds the taps
// kh = 0, 1, 2 against gy's row i - kh, its three column shifts computed once. The lanes past
// the row of gy (in a row's last vector) are dropped from each vector's sums before they join
// `sums`: what they hold (0 * inf, say) cannot leak.
template <class T>
void tap_sums_3x3(const T* gy, const T* xp, int64_t stride, const Conv2dGeometry& g, Lanes<T>* sums) {
  // (Written so that GCC keeps the accumulators in registers: loops it unrolls, indices that are
  // then constants, the shifts as named values. An array of shifts kept them on the stack.)
  for (int64_t ow0 = 0; ow0 < g.OW; ow0 += kLanes) {
    const int64_t n = std::min(kLanes, g.OW - ow0);
    Lanes<T> acc[9];
#pragma GCC unroll 9
    for (int k = 0; k < 9; ++k) acc[k] = Lanes<T>{};
    for (int64_t i = 0; i < g.OH + 2; ++i) {
      const T* row = xp + i * stride + ow0;
      const Lanes<T> at = load_lanes(row), next = load_lanes(row + kLanes);
      const Lanes<T> at1 = shift_lanes<1, T>(at, next), at2 = shift_lanes<2, T>(at, next);
#pragma GCC unroll 3
      for (int kh = 0; kh < 3; ++kh) {
        const int64_t oh = i - kh;
        if (oh < 0 || oh >= g.OH) continue;
        const Lanes<T> gv = load_first(gy + oh * g.OW + ow0, n);
        acc[3 * kh] += gv * at;
        acc[3 * kh + 1] += gv * at1;
        acc[3 * kh + 2] += gv * at2;
      }
    }
#pragma GCC unroll 9
    for (int k = 0; k < 9; ++k) sums[k] += keep_first(acc[k], n);
  }
}

constexpr int kTapGroup = 9;  // a 3x3 kernel in one pass

template <bool kUnitStride, class T, size_t... K>
constexpr auto tap_kernels(std::index_sequence<K...>) {
  return std::array<void (*)(const T*, const T*, int64_t, const int64_t*, const Conv2dGeometry&, Lanes<T>*),
                    sizeof...(K)>{{&tap_sums<static_cast<int>(K) + 1, kUnitStride, T>...}};
}

// gW[c, kh, kw] = sum over n, oh, ow of gy[n, c, oh, ow] * xpad[oh SH + kh DH, ow SW + kw DW]:
// per channel, vector partial sums per tap (taps in groups of kTapGroup), summed across lanes at
// the end. Fixed order: deterministic whatever the number of threads.
template <class T>
void depthwise_grad_w_kernel(const T* x, const T* gy, T* gw, const Conv2dGeometry& g) {
  static constexpr auto unit = tap_kernels<true, T>(std::make_index_sequence<kTapGroup>{});
  static constexpr auto strided = tap_kernels<false, T>(std::make_index_sequence<kTapGroup>{});
  const auto& kernels = g.SW == 1 ? unit : strided;
  const int64_t plane = g.H * g.W, L = g.OH * g.OW, KK = g.KH * g.KW;
  const bool unit_3x3 = is_3x3_unit(g.KH, g.KW, g.SH, g.SW, g.DH, g.DW);
  parallel_for(g.C, 1, [&](int64_t c0, int64_t c1) {
    PaddedPlane<T> padded(g.H, g.W, g.PH, g.PW, 0);
    std::vector<int64_t> offsets(static_cast<size_t>(KK));
    for (int64_t k = 0; k < KK; ++k) offsets[k] = k / g.KW * g.DH * padded.stride() + k % g.KW * g.DW;
    std::vector<Lanes<T>> sums(static_cast<size_t>(KK));
    for (int64_t c = c0; c < c1; ++c) {
      std::fill(sums.begin(), sums.end(), Lanes<T>{});
      for (int64_t n = 0; n < g.N; ++n) {
        // The next sample's planes are a stride of C planes away, beyond the reach of the
        // hardware prefetcher: without this the loads wait on memory most of the time.
        if (n + 1 < g.N) {
          prefetch(x + ((n + 1) * g.C + c) * plane, plane);
          prefetch(gy + ((n + 1) * g.C + c) * L, L);
        }
        const T* xp = padded.load(x + (n * g.C + c) * plane);
        if (unit_3x3) {
          tap_sums_3x3(gy + (n * g.C + c) * L, xp, padded.stride(), g, sums.data());
          continue;
        }
        for (int64_t k = 0; k < KK; k += kTapGroup)
          kernels[std::min<int64_t>(kTapGroup, KK - k) - 1](gy + (n * g.C + c) * L, xp, padded.stride(),
                                                              offsets.data() + k, g, sums.data() + k);
      }
      for (int64_t k = 0; k < KK; ++k) gw[c * KK + k] = sum_lanes<T>(sums[k]);
    }
  });
}

}  // namespace

void depthwise_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, Tensor& y) {
  dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    depthwise_kernel<T>(x.data<T>(), W.data<T>(), b.defined() ? b.data<T>() : nullptr, y.data<T>(), g);
  });
}

void depthwise_conv2d_grad_x(const Tensor& gy, const Tensor& W, const Conv2dGeometry& g, Tensor& gx) {
  dispatch(gy.dtype(), [&](auto t) {
    using T = decltype(t);
    depthwise_grad_x_kernel<T>(gy.data<T>(), W.data<T>(), gx.data<T>(), g);
  });
}

void depthwise_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, Tensor& gW) {
  dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    depthwise_grad_w_kernel<T>(x.data<T>(), gy.data<T>(), gW.data<T>(), g);
  });
}

}  // namespace dezero::cpu
