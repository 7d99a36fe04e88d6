// Elementwise, reduction and layout kernels (fill, cast, unary and broadcasting binary maps with
// the functors of core/elementwise.h, reductions over axes, argmax/argmin, permute, gather,
// scatter-add), float32 and float64.

#include <cmath>

#include "dezero/cuda/launch.cuh"

namespace dezero::cuda::kernels {
namespace {

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  DZ_GRID_LOOP(i, n) p[i] = v;
}

template <class T>
__global__ void axpby_kernel(T a, const T* x, T b, T* y, int64_t n) {
  // As BLAS: a zero coefficient does not read its operand (no 0 * inf).
  DZ_GRID_LOOP(i, n) y[i] = b == T(0) ? a * x[i] : a == T(0) ? b * y[i] : a * x[i] + b * y[i];
}

template <class S, class D>
__global__ void cast_kernel(const S* x, D* y, int64_t n) {
  DZ_GRID_LOOP(i, n) y[i] = static_cast<D>(x[i]);
}

template <class T, class Op>
__global__ void unary_kernel(const T* x, T* y, int64_t n, Op op) {
  DZ_GRID_LOOP(i, n) y[i] = op(x[i]);
}

template <class T, class Op>
__global__ void binary_same_kernel(const T* a, const T* b, T* y, int64_t n, Op op) {
  DZ_GRID_LOOP(i, n) y[i] = op(a[i], b[i]);
}

template <class T, class Op>
__global__ void binary_broadcast_kernel(const T* a, const T* b, T* y, int64_t n, Indexer ix, Op op) {
  DZ_GRID_LOOP(i, n) {
    int64_t oa, ob;
    ix.offsets(i, oa, ob);
    y[i] = op(a[oa], b[ob]);
  }
}

template <class T>
__device__ T combine(ReduceOp op, T acc, T v) {
  if (op == ReduceOp::Sum) return acc + v;
  if (v != v || acc != acc) return v != v ? v : acc;  // NaN wins, as on the CPU
  return op == ReduceOp::Max ? (v > acc ? v : acc) : (v < acc ? v : acc);
}

template <class T>
__host__ __device__ T identity(ReduceOp op) {
  if (op == ReduceOp::Sum) return T(0);
  return op == ReduceOp::Max ? -T(INFINITY) : T(INFINITY);
}

// One block per (output element, part) (grid-strided): its threads stride over the part's share
// of the reduced elements, then a shared-memory tree; y[o parts + part]. With parts > 1 a second
// pass reduces the parts.
template <class T>
__global__ void reduce_kernel(const T* x, T* y, int64_t n_out, int64_t n_red, int64_t parts, Indexer kept,
                              Indexer reduced, ReduceOp op) {
  __shared__ T partial[kThreads];
  const int64_t span = (n_red + parts - 1) / parts;
  for (int64_t o = blockIdx.x; o < n_out * parts; o += gridDim.x) {
    int64_t base, unused;
    kept.offsets(o / parts, base, unused);
    const int64_t first = o % parts * span, last = first + span < n_red ? first + span : n_red;
    T acc = identity<T>(op);
    for (int64_t r = first + threadIdx.x; r < last; r += blockDim.x) {
      int64_t off;
      reduced.offsets(r, off, unused);
      acc = combine(op, acc, x[base + off]);
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
      if (threadIdx.x < s) partial[threadIdx.x] = combine(op, partial[threadIdx.x], partial[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) y[o] = partial[0];
    __syncthreads();
  }
}

template <class T>
__global__ void arg_reduce_kernel(const T* x, T* y, int64_t outer, int64_t A, int64_t inner, ReduceOp op) {
  DZ_GRID_LOOP(k, outer * inner) {
    const T* p = x + (k / inner) * A * inner + k % inner;
    int64_t best = 0;
    for (int64_t a = 1; a < A; ++a) {
      const T v = p[a * inner], cur = p[best * inner];
      if (cur != cur) break;  // NaN wins, as in NumPy and on the CPU
      if (op == ReduceOp::Max ? (v > cur || v != v) : (v < cur || v != v)) best = a;
    }
    y[k] = static_cast<T>(best);
  }
}

template <class T>
__global__ void permute_kernel(const T* x, T* y, int64_t n, Indexer ix) {
  DZ_GRID_LOOP(i, n) {
    int64_t src, unused;
    ix.offsets(i, src, unused);
    y[i] = x[src];
  }
}

template <class T>
__global__ void gather_kernel(const T* x, const int64_t* offsets, T* y, int64_t n) {
  DZ_GRID_LOOP(i, n) y[i] = x[offsets[i]];
}

template <class T>
__global__ void scatter_add_kernel(const T* src, const int64_t* offsets, T* out, int64_t n) {
  DZ_GRID_LOOP(i, n) atomicAdd(out + offsets[i], src[i]);
}

}  // namespace

cudaError_t fill(DType t, void* p, int64_t n, double value, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(n, s, fill_kernel<T>, static_cast<T*>(p), n, static_cast<T>(value));
  });
}

cudaError_t cast(DType from, DType to, const void* x, void* y, int64_t n, cudaStream_t s) {
  return dispatch(from, [&](auto a) {
    return dispatch(to, [&](auto b) {
      using S = decltype(a);
      using D = decltype(b);
      return launch(n, s, cast_kernel<S, D>, static_cast<const S*>(x), static_cast<D*>(y), n);
    });
  });
}

cudaError_t unary(UnaryOp op, DType t, const void* x, void* y, int64_t n, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    const T* px = static_cast<const T*>(x);
    T* py = static_cast<T*>(y);
    switch (op) {
#define DZ_CASE(name, functor) \
  case UnaryOp::name: return launch(n, s, unary_kernel<T, functor>, px, py, n, functor{});
      DZ_UNARY_OPS(DZ_CASE)
#undef DZ_CASE
    }
    return cudaErrorInvalidValue;
  });
}

cudaError_t binary(BinaryOp op, DType t, const void* a, const void* b, void* y, int64_t n, bool same,
                   const Indexer& ix, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    const T* pa = static_cast<const T*>(a);
    const T* pb = static_cast<const T*>(b);
    T* py = static_cast<T*>(y);
    switch (op) {
#define DZ_CASE(name, functor)                                                                  \
  case BinaryOp::name:                                                                          \
    return same ? launch(n, s, binary_same_kernel<T, functor>, pa, pb, py, n, functor{})        \
                : launch(n, s, binary_broadcast_kernel<T, functor>, pa, pb, py, n, ix, functor{});
      DZ_BINARY_OPS(DZ_CASE)
#undef DZ_CASE
    }
    return cudaErrorInvalidValue;
  });
}

cudaError_t axpby(DType t, double a, const void* x, double b, void* y, int64_t n, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(n, s, axpby_kernel<T>, static_cast<T>(a), static_cast<const T*>(x), static_cast<T>(b),
                  static_cast<T*>(y), n);
  });
}

int64_t reduce_parts(int64_t n_out, int64_t n_red) {
  // Aim for ~2048 blocks of at least 16 elements per thread; one part when the outputs alone
  // fill the GPU or the reductions are short.
  constexpr int64_t kMinPerPart = 16 * kThreads, kBlocks = 2048;
  if (n_out <= 0 || n_out >= kBlocks / 2 || n_red < 2 * kMinPerPart) return 1;
  const int64_t by_size = n_red / kMinPerPart, by_blocks = kBlocks / n_out;
  return by_size < by_blocks ? by_size : by_blocks;
}

cudaError_t reduce(ReduceOp op, DType t, const void* x, void* y, int64_t n_out, int64_t n_red, const Indexer& kept,
                   const Indexer& reduced, void* partials, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    if (n_out == 0) return cudaSuccess;
    if (n_red == 0) return launch(n_out, s, fill_kernel<T>, static_cast<T*>(y), n_out, identity<T>(op));
    const int64_t parts = reduce_parts(n_out, n_red);
    auto grid = [](int64_t blocks) { return static_cast<unsigned>(blocks < 65535 * 16 ? blocks : 65535 * 16); };
    if (parts == 1) {
      reduce_kernel<T><<<grid(n_out), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), n_out, n_red, 1,
                                                         kept, reduced, op);
      return cudaGetLastError();
    }
    T* p = static_cast<T*>(partials);
    reduce_kernel<T><<<grid(n_out * parts), kThreads, 0, s>>>(static_cast<const T*>(x), p, n_out, n_red, parts, kept,
                                                              reduced, op);
    // Second pass: output o reduces partials [o parts, (o + 1) parts).
    Indexer rows, within;
    rows.ndim = within.ndim = 1;
    rows.shape[0] = n_out;
    rows.sa[0] = parts;
    within.shape[0] = parts;
    within.sa[0] = 1;
    reduce_kernel<T><<<grid(n_out), kThreads, 0, s>>>(p, static_cast<T*>(y), n_out, parts, 1, rows, within, op);
    return cudaGetLastError();
  });
}

cudaError_t arg_reduce(ReduceOp op, DType t, const void* x, void* y, int64_t outer, int64_t A, int64_t inner,
                       cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(outer * inner, s, arg_reduce_kernel<T>, static_cast<const T*>(x), static_cast<T*>(y), outer, A,
                  inner, op);
  });
}

cudaError_t permute(DType t, const void* x, void* y, int64_t n, const Indexer& ix, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(n, s, permute_kernel<T>, static_cast<const T*>(x), static_cast<T*>(y), n, ix);
  });
}

cudaError_t gather(DType t, const void* x, const int64_t* offsets, void* y, int64_t n, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(n, s, gather_kernel<T>, static_cast<const T*>(x), offsets, static_cast<T*>(y), n);
  });
}

cudaError_t scatter_add(DType t, const void* src, const int64_t* offsets, void* out, int64_t n, cudaStream_t s) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    return launch(n, s, scatter_add_kernel<T>, static_cast<const T*>(src), offsets, static_cast<T*>(out), n);
  });
}

}  // namespace dezero::cuda::kernels
