// The CPU backend: Eigen maps over our buffers for GEMM and vectorized maps, OpenMP loops for the
// rest. The only file that includes Eigen. One OpenMP pool serves both (Eigen's GEMM runs on it).

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/backend.h"
#include "core/cpu_gemm.h"
#include "core/error.h"

namespace dezero {
namespace {

// Below this many elements a loop runs on the calling thread: a parallel region costs ~µs.
constexpr int64_t kGrain = 32768;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;

// Calls body(begin, end) over [0, n) split evenly across the pool (or inline when small).
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& body) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain || omp_in_parallel() || omp_get_max_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t max_chunks = (n + grain - 1) / grain;
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(omp_get_max_threads(), max_chunks)))
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

// Runs f(T{}) with T = float or double according to dtype.
template <class F>
void dispatch(DType dtype, F&& f) {
  if (dtype == DType::Float32)
    f(float{});
  else
    f(double{});
}

// ---- Elementwise ----

template <class Op, class T>
void unary_kernel(const T* x, T* y, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    Eigen::Map<const Vec<T>> xa(x + b, e - b);
    Eigen::Map<Vec<T>> ya(y + b, e - b);
    // Eigen's packet math where it has it; the shared functor otherwise.
    if constexpr (std::is_same_v<Op, ExpOp>) ya = xa.exp();
    else if constexpr (std::is_same_v<Op, LogOp>) ya = xa.log();
    else if constexpr (std::is_same_v<Op, TanhOp>) ya = xa.tanh();
    else if constexpr (std::is_same_v<Op, SqrtOp>) ya = xa.sqrt();
    else if constexpr (std::is_same_v<Op, SinOp>) ya = xa.sin();
    else if constexpr (std::is_same_v<Op, CosOp>) ya = xa.cos();
    else if constexpr (std::is_same_v<Op, AbsOp>) ya = xa.abs();
    else if constexpr (std::is_same_v<Op, SquareOp>) ya = xa.square();
    else if constexpr (std::is_same_v<Op, NegOp>) ya = -xa;
    else if constexpr (std::is_same_v<Op, ReluOp>) ya = xa.max(T(0));
    else if constexpr (std::is_same_v<Op, SigmoidOp>) ya = (xa * T(0.5)).tanh() * T(0.5) + T(0.5);
    else ya = xa.unaryExpr([](T v) { return Op{}(v); });
  });
}

// One dimension of an iteration space: its size and the element stride of each operand.
struct Dim {
  int64_t size, sa, sb;
};

// Merges adjacent dimensions that are contiguous for every operand; drops size-1 dimensions.
std::vector<Dim> coalesce(std::vector<Dim> dims) {
  std::vector<Dim> out;
  for (const Dim& d : dims) {
    if (d.size == 1) continue;
    if (!out.empty() && out.back().sa == d.sa * d.size && out.back().sb == d.sb * d.size) {
      out.back().size *= d.size;
      out.back().sa = d.sa;
      out.back().sb = d.sb;
    } else {
      out.push_back(d);
    }
  }
  return out;
}

// Strides of `t` read as broadcast to `out` (stride 0 on broadcast and missing dimensions).
std::vector<int64_t> broadcast_strides(const Shape& t, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const auto ts = contiguous_strides(t);
  const size_t lead = out.size() - t.size();
  for (size_t i = 0; i < t.size(); ++i) strides[lead + i] = t[i] == 1 ? 0 : ts[i];
  return strides;
}

template <class Op, class T>
void binary_inner(const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t n) {
  const Op op;
  if (sa == 1 && sb == 1)
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
  else if (sa == 1 && sb == 0)
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[0]);
  else if (sa == 0 && sb == 1)
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[0], b[i]);
  else
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i * sa], b[i * sb]);
}

template <class Op, class T>
void binary_kernel(const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* py = out.data<T>();
  const Shape& shape = out.shape();
  const auto as = broadcast_strides(a.shape(), shape), bs = broadcast_strides(b.shape(), shape);
  std::vector<Dim> dims;
  for (size_t i = 0; i < shape.size(); ++i) dims.push_back({shape[i], as[i], bs[i]});
  dims = coalesce(dims);
  if (dims.empty()) dims.push_back({1, 0, 0});
  const Dim inner = dims.back();
  dims.pop_back();
  const int64_t rows = out.numel() / inner.size;
  const int64_t grain = std::max<int64_t>(1, kGrain / inner.size);
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa = 0, ob = 0, rem = r;
      for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
        const int64_t i = rem % dims[d].size;
        rem /= dims[d].size;
        oa += i * dims[d].sa;
        ob += i * dims[d].sb;
      }
      binary_inner<Op>(pa + oa, inner.sa, pb + ob, inner.sb, py + r * inner.size, inner.size);
    }
  });
}

// ---- Reductions ----

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
    Eigen::Map<const Vec<T>> xa(x, n);
    if (op == ReduceOp::Sum) return xa.sum();
    T acc = init();
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

// ---- Layout ----

template <class T>
void permute_kernel(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) {
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

// ---- GEMM ----

template <class T>
void gemm_one(const T* a, const T* b, T* c, const GemmSpec& s) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu::has_fast_sgemm() && cpu::prefer_fast_sgemm(s.M, s.N, s.K)) {
      cpu::sgemm(s.M, s.N, s.K, static_cast<float>(s.alpha), a, s.trans_a ? s.M : s.K, s.trans_a, b,
                 s.trans_b ? s.K : s.N, s.trans_b, static_cast<float>(s.beta), c, s.N);
      return;
    }
  }
  using Map = Eigen::Map<const RowMatrix<T>>;
  const Map A(a, s.trans_a ? s.K : s.M, s.trans_a ? s.M : s.K);
  const Map B(b, s.trans_b ? s.N : s.K, s.trans_b ? s.K : s.N);
  Eigen::Map<RowMatrix<T>> C(c, s.M, s.N);
  const T alpha = static_cast<T>(s.alpha);
  if (s.beta == 0)
    C.setZero();
  else if (s.beta != 1)
    C *= static_cast<T>(s.beta);
  if (!s.trans_a && !s.trans_b) C.noalias() += alpha * A * B;
  else if (s.trans_a && !s.trans_b) C.noalias() += alpha * A.transpose() * B;
  else if (!s.trans_a && s.trans_b) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A.transpose() * B.transpose();
}

template <class T>
void gemm_kernel(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& s) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = c.data<T>();
  const int64_t batch = static_cast<int64_t>(s.c_offsets.size());
  const int64_t flops = s.M * s.N * s.K;
  if (batch == 1 || flops >= int64_t{1} << 21) {
    // Large products: one at a time, each multithreaded on the shared pool.
    for (int64_t i = 0; i < batch; ++i)
      gemm_one(pa + s.a_offsets[i], pb + s.b_offsets[i], pc + s.c_offsets[i], s);
    return;
  }
  // Many small products: one per thread (the GEMMs stay single-threaded inside a parallel region).
  parallel_for(batch, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, flops)),
               [&](int64_t b0, int64_t b1) {
                 for (int64_t i = b0; i < b1; ++i)
                   gemm_one(pa + s.a_offsets[i], pb + s.b_offsets[i], pc + s.c_offsets[i], s);
               });
}

// ---- The backend ----

class CpuBackend final : public Backend {
 public:
  std::shared_ptr<void> allocate(size_t bytes) override {
    const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, rounded);
    DZ_CHECK(p != nullptr, "cpu: out of memory allocating {} bytes", bytes);
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }

  void copy_from_host(const void* src, Tensor& dst) override {
    std::memcpy(dst.raw_data(), src, dst.nbytes());
  }
  void copy_to_host(const Tensor& src, void* dst) override {
    std::memcpy(dst, src.raw_data(), src.nbytes());
  }

  void fill(Tensor& out, double value) override {
    dispatch(out.dtype(), [&](auto t) {
      using T = decltype(t);
      T* p = out.data<T>();
      parallel_for(out.numel(), kGrain, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, T(value)); });
    });
  }

  void cast(const Tensor& x, Tensor& out) override {
    if (x.dtype() == out.dtype()) {
      std::memcpy(out.raw_data(), x.raw_data(), x.nbytes());
      return;
    }
    dispatch(x.dtype(), [&](auto s) {
      dispatch(out.dtype(), [&](auto d) {
        using S = decltype(s);
        using D = decltype(d);
        const S* px = x.data<S>();
        D* py = out.data<D>();
        parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) py[i] = static_cast<D>(px[i]);
        });
      });
    });
  }

  void unary(UnaryOp op, const Tensor& x, Tensor& out) override {
    dispatch(x.dtype(), [&](auto t) {
      using T = decltype(t);
      switch (op) {
#define DZ_CASE(name, functor) \
  case UnaryOp::name:          \
    return unary_kernel<functor>(x.data<T>(), out.data<T>(), x.numel());
        DZ_UNARY_OPS(DZ_CASE)
#undef DZ_CASE
      }
    });
  }

  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override {
    dispatch(out.dtype(), [&](auto t) {
      using T = decltype(t);
      switch (op) {
#define DZ_CASE(name, functor) \
  case BinaryOp::name:         \
    return binary_kernel<functor, T>(a, b, out);
        DZ_BINARY_OPS(DZ_CASE)
#undef DZ_CASE
      }
    });
  }

  void reduce(ReduceOp op, const Tensor& x, Tensor& out) override {
    dispatch(x.dtype(), [&](auto t) { reduce_kernel<decltype(t)>(op, x, out); });
  }

  void arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out) override {
    dispatch(x.dtype(), [&](auto t) { arg_reduce_kernel<decltype(t)>(op, x, axis, out); });
  }

  void permute(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) override {
    dispatch(x.dtype(), [&](auto t) { permute_kernel<decltype(t)>(x, axes, out); });
  }

  void gemm(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& spec) override {
    dispatch(c.dtype(), [&](auto t) { gemm_kernel<decltype(t)>(a, b, c, spec); });
  }

  void gather(const Tensor& x, std::span<const int64_t> offsets, Tensor& out) override {
    dispatch(x.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* px = x.data<T>();
      T* py = out.data<T>();
      parallel_for(static_cast<int64_t>(offsets.size()), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) py[i] = px[offsets[i]];
      });
    });
  }

  void scatter_add(const Tensor& src, std::span<const int64_t> offsets, Tensor& out) override {
    dispatch(src.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* ps = src.data<T>();
      T* py = out.data<T>();
      // Sequential: repeated offsets must accumulate in a fixed order (deterministic).
      for (size_t i = 0; i < offsets.size(); ++i) py[offsets[i]] += ps[i];
    });
  }

  void copy2d(const Tensor& src, Tensor& dst, const Copy2dSpec& s) override {
    const size_t es = dtype_size(src.dtype());
    const char* ps = static_cast<const char*>(src.raw_data());
    char* pd = static_cast<char*>(dst.raw_data());
    parallel_for(s.rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.cols)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        std::memcpy(pd + (s.dst_offset + r * s.dst_ld) * es, ps + (s.src_offset + r * s.src_ld) * es,
                    s.cols * es);
    });
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

void set_num_threads(int n) {
  DZ_CHECK(n >= 1, "set_num_threads: need at least 1 thread; got {}", n);
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace dezero
