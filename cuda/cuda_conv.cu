// Convolution kernels of the CUDA backend: im2col, col2im (each image element gathers the
// columns that cover it: deterministic, no atomics), the depthwise kernels and the argmax of
// max pooling. Same layouts and bounds as the CPU kernels (core/cpu_conv.cpp).

#include <cmath>

#include "core/pool_window.h"
#include "cuda/launch.cuh"

namespace dezero::cuda::kernels {
namespace {

// col[(n - n0), c*KH*KW + kh*KW + kw, oh*OW + ow] = x[n, c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW] or 0.
template <class T>
__global__ void im2col_kernel(const T* x, T* col, int64_t total, int64_t n0, Geo g) {
  DZ_GRID_LOOP(i, total) {
    int64_t r = i;
    const int64_t ow = r % g.OW; r /= g.OW;
    const int64_t oh = r % g.OH; r /= g.OH;
    const int64_t kw = r % g.KW; r /= g.KW;
    const int64_t kh = r % g.KH; r /= g.KH;
    const int64_t c = r % g.C;
    const int64_t n = n0 + r / g.C;
    const int64_t ih = oh * g.SH - g.PH + kh * g.DH, iw = ow * g.SW - g.PW + kw * g.DW;
    col[i] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? x[((n * g.C + c) * g.H + ih) * g.W + iw] : T(0);
  }
}

// x[n, c, h, w] = sum over the (kh, kw, oh, ow) whose window covers (h, w) of their column.
template <class T>
__global__ void col2im_kernel(const T* col, T* x, int64_t total, int64_t n0, Geo g) {
  DZ_GRID_LOOP(i, total) {
    int64_t r = i;
    const int64_t w = r % g.W; r /= g.W;
    const int64_t h = r % g.H; r /= g.H;
    const int64_t c = r % g.C;
    const int64_t nl = r / g.C;  // sample within the chunk
    const int64_t L = g.OH * g.OW;
    const T* base = col + (nl * g.C + c) * g.KH * g.KW * L;
    T acc = 0;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t th = h + g.PH - kh * g.DH;
      if (th < 0 || th % g.SH != 0 || th / g.SH >= g.OH) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t tw = w + g.PW - kw * g.DW;
        if (tw < 0 || tw % g.SW != 0 || tw / g.SW >= g.OW) continue;
        acc += base[(kh * g.KW + kw) * L + (th / g.SH) * g.OW + tw / g.SW];
      }
    }
    x[((n0 + nl) * g.C + c) * g.H * g.W + h * g.W + w] = acc;
  }
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

cudaError_t im2col(DType t, const void* x, void* col, int64_t n0, int64_t n1, const Geo& g, cudaStream_t s) {
  const int64_t total = (n1 - n0) * g.C * g.KH * g.KW * g.OH * g.OW;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(total, s, im2col_kernel<T>, static_cast<const T*>(x), static_cast<T*>(col), total, n0, g);
  });
}

cudaError_t col2im(DType t, const void* col, void* x, int64_t n0, int64_t n1, const Geo& g, cudaStream_t s) {
  const int64_t total = (n1 - n0) * g.C * g.H * g.W;
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(total, s, col2im_kernel<T>, static_cast<const T*>(col), static_cast<T*>(x), total, n0, g);
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

}  // namespace dezero::cuda::kernels
