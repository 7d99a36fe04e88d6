// Reductions and layout kernels of the CPU backend: reduce over axes, arg-reduce, permute.
// Dimensions are coalesced first, so most calls become a row or column reduction or a tiled
// 2-d transpose.

#include <cstring>
#include <limits>

#include "dezero/core/cpu_kernels.h"

namespace dezero::cpu {
namespace {

template <class T>
struct Reducer {
  ReduceOp op;
  T init() const {
    if (op == ReduceOp::Sum) return T(0);
    return op == ReduceOp::Max ? -std::numeric_limits<T>::infinity()
                               : std::numeric_limits<T>::infinity();
  }
  T combine(T acc, T v) const {
    if (op == ReduceOp::Sum) return acc + v;
    if (op == ReduceOp::Max) return (v > acc || v != v) ? v : acc;  // NaN propagates
    return (v < acc || v != v) ? v : acc;
  }
  T contiguous(const T* x, int64_t n) const {
    T acc = init();
    if (op == ReduceOp::Sum) {
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < n; ++i) acc += x[i];
      return acc;
    }
    for (int64_t i = 0; i < n; ++i) acc = combine(acc, x[i]);
    return acc;
  }
};

// Offset of the linear index `i` enumerated over `dims` (row-major), using stride sa.
int64_t offset_of(int64_t i, const std::vector<Dim>& dims) {
  int64_t off = 0;
  for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
    off += (i % dims[d].size) * dims[d].sa;
    i /= dims[d].size;
  }
  return off;
}

template <class T>
void reduce_kernel(ReduceOp op, const Tensor& x, Tensor& out) {
  const Reducer<T> red{op};
  const T* px = x.data<T>();
  T* py = out.data<T>();
  // Split x's dimensions into kept ones (they index the output) and reduced ones.
  const auto xs = contiguous_strides(x.shape());
  std::vector<Dim> kept, reduced;  // sa = stride in x, sb = 1 when reduced (for coalescing)
  std::vector<Dim> all;
  for (size_t i = 0; i < x.shape().size(); ++i)
    all.push_back({x.shape()[i], xs[i], (out.shape()[i] == 1 && x.shape()[i] != 1) ? 1 : 0});
  // Coalesce runs of the same kind (sb marks the kind; contiguity is checked on sa).
  std::vector<Dim> runs;
  for (const Dim& d : all) {
    if (d.size == 1) continue;
    if (!runs.empty() && runs.back().sb == d.sb && runs.back().sa == d.sa * d.size) {
      runs.back().size *= d.size;
      runs.back().sa = d.sa;
    } else {
      runs.push_back(d);
    }
  }
  for (const Dim& d : runs) (d.sb ? reduced : kept).push_back(d);
  const int64_t n_out = out.numel();
  if (x.numel() == 0) {  // an empty reduction yields the identity (0 for sum)
    for (int64_t i = 0; i < n_out; ++i) py[i] = red.init();
    return;
  }
  if (reduced.empty()) {
    std::memcpy(py, px, x.nbytes());
    return;
  }
  if (!runs.back().sb) {
    // Innermost run is kept: accumulate whole contiguous output rows, vectorized.
    const int64_t L = runs.back().size;
    kept.pop_back();
    const int64_t blocks = n_out / L;
    const int64_t n_red = numel([&] { Shape s; for (auto& d : reduced) s.push_back(d.size); return s; }());
    const int64_t chunk = std::max<int64_t>(64, std::min<int64_t>(L, kGrain / std::max<int64_t>(1, n_red)));
    const int64_t chunks_per_block = (L + chunk - 1) / chunk;
    parallel_for(blocks * chunks_per_block, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t blk = t / chunks_per_block, c0 = (t % chunks_per_block) * chunk;
        const int64_t len = std::min(chunk, L - c0);
        T* y = py + blk * L + c0;
        const T* base = px + offset_of(blk, kept) + c0;
        for (int64_t j = 0; j < len; ++j) y[j] = red.init();
        for (int64_t r = 0; r < n_red; ++r) {
          const T* row = base + offset_of(r, reduced);
          if (op == ReduceOp::Sum)
            for (int64_t j = 0; j < len; ++j) y[j] += row[j];
          else
            for (int64_t j = 0; j < len; ++j) y[j] = red.combine(y[j], row[j]);
        }
      }
    });
    return;
  }
  // Innermost run is reduced: each output is a sum of contiguous stretches.
  const int64_t L = runs.back().size;
  reduced.pop_back();
  int64_t n_red = 1;
  for (auto& d : reduced) n_red *= d.size;
  if (n_out == 1 && n_red == 1) {
    // One long contiguous reduction: per-thread partials in a fixed order (deterministic).
    const int64_t parts = std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(1, L / kGrain));
    std::vector<T> partial(parts, red.init());
    const int64_t chunk = (L + parts - 1) / parts;
    parallel_for(parts, 0, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t b = p * chunk, e = std::min(L, b + chunk);
        if (b < e) partial[p] = red.contiguous(px + b, e - b);
      }
    });
    T acc = red.init();
    for (T v : partial) acc = red.combine(acc, v);
    py[0] = acc;
    return;
  }
  parallel_for(n_out, std::max<int64_t>(1, kGrain / (L * n_red)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const T* base = px + offset_of(o, kept);
      T acc = red.init();
      for (int64_t r = 0; r < n_red; ++r) acc = red.combine(acc, red.contiguous(base + offset_of(r, reduced), L));
      py[o] = acc;
    }
  });
}

template <class T>
void arg_reduce_kernel(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out) {
  const T* px = x.data<T>();
  T* py = out.data<T>();
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (int64_t i = axis + 1; i < x.ndim(); ++i) inner *= s[i];
  const int64_t A = s[axis];
  parallel_for(outer * inner, std::max<int64_t>(1, kGrain / A), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const T* p = px + (k / inner) * A * inner + k % inner;
      int64_t best = 0;
      for (int64_t a = 1; a < A; ++a) {
        const T v = p[a * inner], cur = p[best * inner];
        if (cur != cur) break;  // NaN wins, as in NumPy
        if (op == ReduceOp::Max ? (v > cur || v != v) : (v < cur || v != v)) best = a;
      }
      py[k] = static_cast<T>(best);
    }
  });
}

template <class T>
void permute_kernel(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) {
  if (out.numel() == 0) return;
  const T* px = x.data<T>();
  T* py = out.data<T>();
  const auto xs = contiguous_strides(x.shape());
  const auto ys = contiguous_strides(out.shape());
  std::vector<Dim> dims;  // sa = source stride, sb = destination stride
  for (size_t i = 0; i < axes.size(); ++i) dims.push_back({out.shape()[i], xs[axes[i]], ys[i]});
  dims = coalesce(dims);
  if (dims.empty()) {
    py[0] = px[0];
    return;
  }
  // A batch of 2-d transposes: copy in 32x32 tiles so both sides stay in cache.
  if (dims.size() >= 2 && dims.back().sa != 1) {
    const Dim c = dims.back(), r = dims[dims.size() - 2];
    if (c.sb == 1 && r.sa == 1) {
      std::vector<Dim> batch(dims.begin(), dims.end() - 2);
      int64_t nb = 1;
      for (auto& d : batch) nb *= d.size;
      constexpr int64_t kTile = 32;
      const int64_t tr = (r.size + kTile - 1) / kTile, tc = (c.size + kTile - 1) / kTile;
      parallel_for(nb * tr * tc, std::max<int64_t>(1, kGrain / (kTile * kTile)), [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t bi = t / (tr * tc), i0 = (t / tc % tr) * kTile, j0 = t % tc * kTile;
          int64_t src = 0, dst = 0, rem = bi;
          for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
            src += rem % batch[d].size * batch[d].sa;
            dst += rem % batch[d].size * batch[d].sb;
            rem /= batch[d].size;
          }
          for (int64_t i = i0; i < std::min(r.size, i0 + kTile); ++i)
            for (int64_t j = j0; j < std::min(c.size, j0 + kTile); ++j)
              py[dst + i * r.sb + j] = px[src + i + j * c.sa];
        }
      });
      return;
    }
  }
  const Dim inner = dims.back();
  dims.pop_back();
  const int64_t rows = out.numel() / inner.size;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner.size), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t src = 0, dst = 0, rem = r;
      for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
        src += rem % dims[d].size * dims[d].sa;
        dst += rem % dims[d].size * dims[d].sb;
        rem /= dims[d].size;
      }
      for (int64_t i = 0; i < inner.size; ++i) py[dst + i * inner.sb] = px[src + i * inner.sa];
    }
  });
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, Tensor& out) {
  dispatch(x.dtype(), [&](auto t) { reduce_kernel<decltype(t)>(op, x, out); });
}

void arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out) {
  dispatch(x.dtype(), [&](auto t) { arg_reduce_kernel<decltype(t)>(op, x, axis, out); });
}

void permute(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) {
  dispatch(x.dtype(), [&](auto t) { permute_kernel<decltype(t)>(x, axes, out); });
}

}  // namespace dezero::cpu
