// Convolution kernels of the CUDA backend: im2col, col2im (each image element gathers the
// columns that cover it: deterministic, no atomics), the depthwise kernels and the argmax of
// max pooling. Same layouts and bounds as the CPU kernels (core/cpu_conv.cpp).

#include <cmath>

#include "dezero/core/pool_window.h"
#include "dezero/cuda/launch.cuh"

namespace dezero::cuda::kernels {
namespace {

// Both column kernels run on a 2-d grid: y over rows (a column row, or an image plane), decoded
// once per row; x over the row's contiguous elements, several per thread, with 32-bit index math
// and divisions by multiply-shift (64-bit divisions per element made them several times slower
// than memory; 32-bit ones still cost twice). The launchers check that the indices fit.

// Where column entry (sample n - n0, row c KH KW + kh KW + kw, position l) lives: at
// (n - n0) sample_stride + row row_stride + l. Per-sample columns (N, C KH KW, L) have
// sample_stride = C KH KW L and row_stride = L; batch-wide ones (C KH KW, N L), whose rows hold
// every sample's positions, sample_stride = L and row_stride = N L.
struct ColumnLayout {
  int64_t sample_stride, row_stride;
};

// The divisors of the column kernels' index math.
struct ColumnDivisors {
  FastDiv OW, KW, KH, CKK, W, C;
  explicit ColumnDivisors(const Geo& g)
      : OW(g.OW), KW(g.KW), KH(g.KH), CKK(g.C * g.KH * g.KW), W(g.W), C(g.C) {}
};

// V consecutive elements, stored with one vector store.
template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

// Grid rows r = ((n - n0) C + c) KH KW + kh KW + kw; along a row, l = oh OW + ow:
// col[r, l] = x[n, c, oh SH - PH + kh DH, ow SW - PW + kw DW], or 0 in the padding.
// A thread writes V consecutive l at a time (16-byte stores when the rows' length allows).
template <class T, int V>
__global__ void im2col_kernel(const T* x, T* col, int64_t rows, int64_t n0, Geo g, ColumnLayout layout,
                              ColumnDivisors div) {
  const int L = static_cast<int>(g.OH * g.OW), OW = static_cast<int>(g.OW), H = static_cast<int>(g.H),
            W = static_cast<int>(g.W), SH = static_cast<int>(g.SH), SW = static_cast<int>(g.SW);
  for (unsigned r = blockIdx.y * blockDim.y + threadIdx.y; r < rows; r += gridDim.y * blockDim.y) {
    const unsigned rkw = div.KW.div(r), rkk = div.KH.div(rkw), sample = div.CKK.div(r);
    const int kw = static_cast<int>(r - rkw * div.KW.divisor), kh = static_cast<int>(rkw - rkk * div.KH.divisor);
    const T* plane = x + (n0 * g.C + rkk) * g.H * g.W;
    T* out = col + sample * layout.sample_stride + (r - sample * div.CKK.divisor) * layout.row_stride;
    const int dh = kh * static_cast<int>(g.DH) - static_cast<int>(g.PH), dw = kw * static_cast<int>(g.DW) - static_cast<int>(g.PW);
    for (int l = (blockIdx.x * blockDim.x + threadIdx.x) * V; l < L; l += gridDim.x * blockDim.x * V) {
      int oh = static_cast<int>(div.OW.div(l)), ow = l - oh * OW;
      Pack<T, V> pack;
#pragma unroll
      for (int j = 0; j < V; ++j) {
        const int ih = oh * SH + dh, iw = ow * SW + dw;
        pack.v[j] = static_cast<unsigned>(ih) < static_cast<unsigned>(H) && static_cast<unsigned>(iw) < static_cast<unsigned>(W)
                        ? plane[ih * W + iw]
                        : T(0);
        if (++ow == OW) {
          ow = 0;
          ++oh;
        }
      }
      *reinterpret_cast<Pack<T, V>*>(out + l) = pack;
    }
  }
}

// Image planes p = (n - n0) C + c; along a plane, h W + w: x[n, c, h, w] = bias[c] (0 without
// one) + the sum of the column entries whose window covers (h, w). Each element gathers
// (deterministic, no atomics). kUnitStride drops the divisibility tests of the common stride 1.
template <class T, bool kUnitStride>
__global__ void col2im_kernel(const T* col, T* x, const T* bias, int64_t planes, int64_t n0, Geo g,
                              ColumnLayout layout, ColumnDivisors div) {
  const int HW = static_cast<int>(g.H * g.W), W = static_cast<int>(g.W);
  const int OH = static_cast<int>(g.OH), OW = static_cast<int>(g.OW), KH = static_cast<int>(g.KH),
            KW = static_cast<int>(g.KW), SH = static_cast<int>(g.SH), SW = static_cast<int>(g.SW),
            DH = static_cast<int>(g.DH), DW = static_cast<int>(g.DW), PH = static_cast<int>(g.PH),
            PW = static_cast<int>(g.PW);
  const int64_t rs = layout.row_stride;
  for (unsigned p = blockIdx.y * blockDim.y + threadIdx.y; p < planes; p += gridDim.y * blockDim.y) {
    const unsigned sample = div.C.div(p), c = p - sample * div.C.divisor;
    const T* base = col + sample * layout.sample_stride + static_cast<int64_t>(c) * KH * KW * rs;
    T* out = x + (n0 * g.C + p) * HW;
    const T first = bias ? bias[c] : T(0);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < HW; i += gridDim.x * blockDim.x) {
      const int h = static_cast<int>(div.W.div(i)), w = i - h * W;
      T acc = first;
      for (int kh = 0; kh < KH; ++kh) {
        const int th = h + PH - kh * DH;
        if (th < 0) break;  // th only falls as kh grows
        if (!kUnitStride && th % SH != 0) continue;
        const int oh = kUnitStride ? th : th / SH;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; ++kw) {
          const int tw = w + PW - kw * DW;
          if (tw < 0) break;
          if (!kUnitStride && tw % SW != 0) continue;
          const int ow = kUnitStride ? tw : tw / SW;
          if (ow < OW) acc += base[(kh * KW + kw) * rs + oh * OW + ow];
        }
      }
      out[i] = acc;
    }
  }
}

// in (A, B, L) -> out (B, A, L): out[b, a, l] = in[a, b, l] + bias[a] (bias may be null).
template <class T>
__global__ void swap_leading_kernel(const T* in, T* out, int64_t A, int64_t B, int64_t L, const T* bias) {
  const unsigned a_count = static_cast<unsigned>(A), rows = static_cast<unsigned>(A * B);
  for (unsigned q = blockIdx.y * blockDim.y + threadIdx.y; q < rows; q += gridDim.y * blockDim.y) {
    const unsigned b = q / a_count, a = q - b * a_count;
    const T* src = in + (static_cast<int64_t>(a) * B + b) * L;
    T* dst = out + static_cast<int64_t>(q) * L;
    const T add = bias ? bias[a] : T(0);
    for (int64_t l = blockIdx.x * blockDim.x + threadIdx.x; l < L; l += int64_t(gridDim.x) * blockDim.x)
      dst[l] = src[l] + add;
  }
}

ColumnLayout layout_of(const Geo& g, int64_t samples, bool batch_wide) {
  const int64_t L = g.OH * g.OW;
  return batch_wide ? ColumnLayout{L, samples * L} : ColumnLayout{g.C * g.KH * g.KW * L, L};
}

// A 2-d launch of `rows` rows of `cols` elements: 256 threads a block, as many of them along a
// row as it has (rounded to a warp), the rest on further rows; a thread takes up to
// kPerThread elements of its row.
struct RowGrid {
  static constexpr int64_t kPerThread = 4;
  dim3 grid, block;
  RowGrid(int64_t rows, int64_t cols) {
    const int64_t tx = cols >= kThreads ? kThreads : (cols + 31) / 32 * 32, ty = kThreads / tx;
    block = dim3(static_cast<unsigned>(tx), static_cast<unsigned>(ty));
    const int64_t gx = (cols + tx * kPerThread - 1) / (tx * kPerThread), gy = (rows + ty - 1) / ty;
    grid = dim3(static_cast<unsigned>(gx < 65535 ? gx : 65535), static_cast<unsigned>(gy < 65535 ? gy : 65535));
  }
};

// 32-bit indices in the column kernels (rows: the 2-d grid's rows of this launch).
bool fits_int32(const Geo& g, int64_t rows) {
  const int64_t limit = int64_t{1} << 30;
  return rows < limit && g.H * g.W < limit && g.OH * g.OW * g.KH * g.KW < limit && g.H + g.PH < limit &&
         g.W + g.PW < limit;
}

template <class T>
__global__ void depthwise_kernel(const T* x, const T* Wt, const T* b, T* y, int64_t total, Geo g) {
  DZ_GRID_LOOP(i, total) {
    const int64_t ow = i % g.OW, oh = i / g.OW % g.OH, nc = i / (g.OW * g.OH), c = nc % g.C;
    const T* plane = x + nc * g.H * g.W;
    T acc = b ? b[c] : T(0);
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t iw = ow * g.SW - g.PW + kw * g.DW;
        if (iw >= 0 && iw < g.W) acc += plane[ih * g.W + iw] * Wt[(c * g.KH + kh) * g.KW + kw];
      }
    }
    y[i] = acc;
  }
}

template <class T>
__global__ void depthwise_grad_x_kernel(const T* gy, const T* Wt, T* gx, int64_t total, Geo g) {
  DZ_GRID_LOOP(i, total) {
    const int64_t w = i % g.W, h = i / g.W % g.H, nc = i / (g.W * g.H), c = nc % g.C;
    const T* plane = gy + nc * g.OH * g.OW;
    T acc = 0;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t th = h + g.PH - kh * g.DH;
      if (th < 0 || th % g.SH != 0 || th / g.SH >= g.OH) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t tw = w + g.PW - kw * g.DW;
        if (tw < 0 || tw % g.SW != 0 || tw / g.SW >= g.OW) continue;
        acc += plane[(th / g.SH) * g.OW + tw / g.SW] * Wt[(c * g.KH + kh) * g.KW + kw];
      }
    }
    gx[i] = acc;
  }
}

// One block per weight (c, kh, kw): its threads sum x * gy over (n, oh, ow), then a tree.
template <class T>
__global__ void depthwise_grad_w_kernel(const T* x, const T* gy, T* gW, Geo g) {
  __shared__ T partial[kThreads];
  const int64_t idx = blockIdx.x, kw = idx % g.KW, kh = idx / g.KW % g.KH, c = idx / (g.KW * g.KH);
  const int64_t L = g.OH * g.OW, count = g.N * L;
  T acc = 0;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t n = j / L, oh = j % L / g.OW, ow = j % g.OW;
    const int64_t ih = oh * g.SH - g.PH + kh * g.DH, iw = ow * g.SW - g.PW + kw * g.DW;
    if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
      acc += x[((n * g.C + c) * g.H + ih) * g.W + iw] * gy[(n * g.C + c) * L + oh * g.OW + ow];
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) gW[idx] = partial[0];
}

template <class T>
__global__ void flip_transposed_weights_kernel(const T* W, T* out, int64_t total, int64_t Cin, int64_t Cg, int64_t KH,
                                               int64_t KW, int64_t groups) {
  const int64_t Cig = Cin / groups;
  DZ_GRID_LOOP(i, total) {
    int64_t r = i;
    const int64_t kw = r % KW; r /= KW;
    const int64_t kh = r % KH; r /= KH;
    const int64_t ci = r % Cig, o = r / Cig, g = o / Cg, co = o % Cg;
    out[i] = W[(((g * Cig + ci) * Cg + co) * KH + (KH - 1 - kh)) * KW + (KW - 1 - kw)];
  }
}

// Each window's first maximum (a NaN wins; padding never does): its value and flat offset.
template <class T>
__global__ void max_pool_kernel(const T* x, int64_t* offsets, T* y, int64_t total, Geo g) {
  DZ_GRID_LOOP(i, total) {
    const int64_t ow = i % g.OW, oh = i / g.OW % g.OH, nc = i / (g.OW * g.OH);
    const int64_t at = nc * g.H * g.W + window_argmax(x + nc * g.H * g.W, g, oh, ow);
    offsets[i] = at;
    y[i] = x[at];
  }
}

}  // namespace

cudaError_t im2col(DType t, const void* x, void* col, int64_t n0, int64_t n1, const Geo& g, bool batch_wide,
                   cudaStream_t s) {
  const int64_t rows = (n1 - n0) * g.C * g.KH * g.KW, L = g.OH * g.OW;
  if (rows <= 0 || L <= 0) return cudaSuccess;
  if (!fits_int32(g, rows)) return cudaErrorInvalidValue;
  const ColumnLayout layout = layout_of(g, n1 - n0, batch_wide);
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    // Rows start at multiples of L (both layouts), so 16-byte packs stay aligned when V divides L.
    constexpr int V = 16 / sizeof(T);
    const bool packed = L % V == 0 && reinterpret_cast<uintptr_t>(col) % 16 == 0;
    const RowGrid rg(rows, packed ? L / V : L);
    if (packed)
      im2col_kernel<T, V><<<rg.grid, rg.block, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(col), rows, n0, g,
                                                       layout, ColumnDivisors(g));
    else
      im2col_kernel<T, 1><<<rg.grid, rg.block, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(col), rows, n0, g,
                                                       layout, ColumnDivisors(g));
    return cudaGetLastError();
  });
}

cudaError_t col2im(DType t, const void* col, void* x, const void* bias, int64_t n0, int64_t n1, const Geo& g,
                   bool batch_wide, cudaStream_t s) {
  const int64_t planes = (n1 - n0) * g.C, HW = g.H * g.W;
  if (planes <= 0 || HW <= 0) return cudaSuccess;
  if (!fits_int32(g, planes)) return cudaErrorInvalidValue;
  const RowGrid rg(planes, HW);
  const ColumnLayout layout = layout_of(g, n1 - n0, batch_wide);
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    const T* c = static_cast<const T*>(col);
    const T* b = static_cast<const T*>(bias);
    T* out = static_cast<T*>(x);
    if (g.SH == 1 && g.SW == 1)
      col2im_kernel<T, true><<<rg.grid, rg.block, 0, s>>>(c, out, b, planes, n0, g, layout, ColumnDivisors(g));
    else
      col2im_kernel<T, false><<<rg.grid, rg.block, 0, s>>>(c, out, b, planes, n0, g, layout, ColumnDivisors(g));
    return cudaGetLastError();
  });
}

cudaError_t swap_leading(DType t, const void* in, void* out, int64_t A, int64_t B, int64_t L, const void* bias,
                         cudaStream_t s) {
  if (A * B <= 0 || L <= 0) return cudaSuccess;
  if (A * B >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  const RowGrid rg(A * B, L);
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    swap_leading_kernel<T><<<rg.grid, rg.block, 0, s>>>(static_cast<const T*>(in), static_cast<T*>(out), A, B, L,
                                                        static_cast<const T*>(bias));
    return cudaGetLastError();
  });
}

cudaError_t depthwise_conv2d(DType t, const void* x, const void* W, const void* b, void* y, const Geo& g,
                             cudaStream_t s) {
  const int64_t total = g.N * g.C * g.OH * g.OW;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(total, s, depthwise_kernel<T>, static_cast<const T*>(x), static_cast<const T*>(W),
                  static_cast<const T*>(b), static_cast<T*>(y), total, g);
  });
}

cudaError_t depthwise_conv2d_grad_x(DType t, const void* gy, const void* W, void* gx, const Geo& g, cudaStream_t s) {
  const int64_t total = g.N * g.C * g.H * g.W;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(total, s, depthwise_grad_x_kernel<T>, static_cast<const T*>(gy), static_cast<const T*>(W),
                  static_cast<T*>(gx), total, g);
  });
}

cudaError_t depthwise_conv2d_grad_w(DType t, const void* x, const void* gy, void* gW, const Geo& g, cudaStream_t s) {
  const int64_t weights = g.C * g.KH * g.KW;
  if (weights == 0) return cudaSuccess;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    depthwise_grad_w_kernel<T><<<static_cast<unsigned>(weights), kThreads, 0, s>>>(
        static_cast<const T*>(x), static_cast<const T*>(gy), static_cast<T*>(gW), g);
    return cudaGetLastError();
  });
}

cudaError_t max_pool2d(DType t, const void* x, int64_t* offsets, void* y, const Geo& g, cudaStream_t s) {
  const int64_t total = g.N * g.C * g.OH * g.OW;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(total, s, max_pool_kernel<T>, static_cast<const T*>(x), offsets, static_cast<T*>(y), total, g);
  });
}

cudaError_t flip_transposed_weights(DType t, const void* W, void* out, int64_t Cin, int64_t Cg, int64_t KH, int64_t KW,
                                    int64_t groups, cudaStream_t s) {
  const int64_t total = Cin * Cg * KH * KW;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(total, s, flip_transposed_weights_kernel<T>, static_cast<const T*>(W), static_cast<T*>(out), total,
                  Cin, Cg, KH, KW, groups);
  });
}

}  // namespace dezero::cuda::kernels
