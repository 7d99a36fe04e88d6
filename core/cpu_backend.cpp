// The CPU backend: Eigen maps over our buffers for GEMM and vectorized maps, OpenMP loops for the
// rest. The only file that includes Eigen. One OpenMP pool serves both (Eigen's GEMM runs on it).

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>

#include "dezero/core/backend.h"
#include "dezero/core/cpu_gemm.h"
#include "dezero/core/cpu_kernels.h"
#include "dezero/core/error.h"

namespace dezero {
namespace {

using cpu::coalesce;
using cpu::Dim;
using cpu::dispatch;
using cpu::kGrain;
using cpu::parallel_for;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;

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
  if (out.numel() == 0) return;
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

// ---- GEMM ----

}  // namespace

template <class T>
void cpu::gemm_one(const T* a, const T* b, T* c, const GemmSpec& s) {
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
template void cpu::gemm_one<float>(const float*, const float*, float*, const GemmSpec&);
template void cpu::gemm_one<double>(const double*, const double*, double*, const GemmSpec&);

namespace {

// When many single-threaded products share a few left operands (a convolution's weights, one
// product per sample), each distinct A is packed once here and every product reads its B in
// place: no per-product packing of A or B, and no zeroing of C. Empty when that does not apply.
struct SharedA {
  std::vector<cpu::PackedA> packed;
  std::vector<int64_t> index;  // per entry, into packed
};

template <class T>
SharedA share_a(const T* pa, const GemmSpec& s, int64_t batch) {
  SharedA out;
  if constexpr (std::is_same_v<T, float>) {
    if (!cpu::has_fast_sgemm() || s.trans_b || batch < 2) return out;
    std::vector<int64_t> distinct(s.a_offsets.begin(), s.a_offsets.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (2 * static_cast<int64_t>(distinct.size()) > batch) return out;
    for (int64_t offset : distinct)
      out.packed.emplace_back(s.M, s.K, static_cast<float>(s.alpha), pa + offset, s.trans_a ? s.M : s.K, s.trans_a);
    for (int64_t offset : s.a_offsets)
      out.index.push_back(std::lower_bound(distinct.begin(), distinct.end(), offset) - distinct.begin());
  }
  return out;
}

// The index's offsets as host data (an index whose offsets a GPU kept cannot index a CPU tensor).
const Offsets& host_offsets(const ResolvedIndex& index, const char* op) {
  DZ_CHECK(!index.device_offsets, "{}: the index into {} was resolved on another device", op, to_string(index.x_shape));
  return index.offsets;
}

template <class T>
void gemm_kernel(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& s) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = c.data<T>();
  const int64_t batch = static_cast<int64_t>(s.c_offsets.size());
  auto run = [&](int64_t i) { cpu::gemm_one(pa + s.a_offsets[i], pb + s.b_offsets[i], pc + s.c_offsets[i], s); };
  const SharedA shared = share_a(pa, s, batch);
  auto run_single = [&](int64_t i) {  // on one thread
    if constexpr (std::is_same_v<T, float>) {
      if (!shared.index.empty()) {
        cpu::sgemm_packed(shared.packed[shared.index[i]], s.N, pb + s.b_offsets[i], s.N, static_cast<float>(s.beta),
                          pc + s.c_offsets[i], s.N);
        return;
      }
    }
    run(i);
  };
  // Entries grouped by output block, in order; blocks are independent of each other.
  std::vector<int64_t> order(batch);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s.c_offsets[x] < s.c_offsets[y]; });
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < batch; ++i)
    if (i == 0 || s.c_offsets[order[i]] != s.c_offsets[order[i - 1]]) starts.push_back(i);
  starts.push_back(batch);
  const int64_t blocks = static_cast<int64_t>(starts.size()) - 1;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads > 1 && blocks < 4 * threads && blocks % threads != 0) {
    // Few output blocks: one product at a time, each multithreaded on the shared pool.
    for (int64_t i : order) run(i);
    return;
  }
  // Many blocks: one thread per block range, single-threaded products inside.
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk)
      for (int64_t i = starts[blk]; i < starts[blk + 1]; ++i) run_single(order[i]);
  });
}

// ---- The backend ----

class CpuBackend final : public Backend {
 public:
  std::shared_ptr<void> allocate(size_t bytes) override { return cpu::allocate(bytes); }

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

  void axpby(double a, const Tensor& x, double b, Tensor& y) override {
    dispatch(y.dtype(), [&](auto t) {
      using T = decltype(t);
      const T *px = x.data<T>(), ta = static_cast<T>(a), tb = static_cast<T>(b);
      T* py = y.data<T>();
      parallel_for(y.numel(), kGrain, [&](int64_t i0, int64_t i1) {
        if (b == 0)  // as BLAS: a zero coefficient does not read its operand (no 0 * inf)
          for (int64_t i = i0; i < i1; ++i) py[i] = ta * px[i];
        else if (a == 0)
          for (int64_t i = i0; i < i1; ++i) py[i] = tb * py[i];
        else
          for (int64_t i = i0; i < i1; ++i) py[i] = ta * px[i] + tb * py[i];
      });
    });
  }

  void reduce(ReduceOp op, const Tensor& x, Tensor& out) override {
    cpu::reduce(op, x, out);
  }

  void arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out) override {
    cpu::arg_reduce(op, x, axis, out);
  }

  void permute(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) override {
    cpu::permute(x, axes, out);
  }

  void gemm(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& spec) override {
    dispatch(c.dtype(), [&](auto t) { gemm_kernel<decltype(t)>(a, b, c, spec); });
  }

  void gather(const Tensor& x, const ResolvedIndex& index, Tensor& out) override {
    const Offsets& offsets = host_offsets(index, "gather");
    dispatch(x.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* px = x.data<T>();
      T* py = out.data<T>();
      parallel_for(static_cast<int64_t>(offsets.size()), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) py[i] = px[offsets[i]];
      });
    });
  }

  void scatter_add(const Tensor& src, const ResolvedIndex& index, Tensor& out) override {
    const Offsets& offsets = host_offsets(index, "scatter_add");
    const bool unique = index.unique;
    const int64_t blocks = index.blocks;
    dispatch(src.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* ps = src.data<T>();
      T* py = out.data<T>();
      // Repeated offsets must accumulate in a fixed order (deterministic): a thread takes whole
      // blocks (each cleared, then summed in order, while in its cache), or any range of unique
      // offsets; otherwise one thread sums in order.
      const int64_t n = static_cast<int64_t>(offsets.size()), m = out.numel();
      if (blocks > 1 && n % blocks == 0 && m % blocks == 0) {
        const int64_t src_block = n / blocks, out_block = m / blocks;
        parallel_for(blocks, std::max<int64_t>(1, kGrain / std::max<int64_t>(out_block, 1)), [&](int64_t b, int64_t e) {
          std::fill(py + b * out_block, py + e * out_block, T(0));
          for (int64_t i = b * src_block; i < e * src_block; ++i) py[offsets[i]] += ps[i];
        });
        return;
      }
      fill(out, 0.0);
      parallel_for(n, unique ? kGrain : n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) py[offsets[i]] += ps[i];
      });
    });
  }

  void im2col(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col) override {
    cpu::im2col(x, g, n0, n1, col);
  }

  void col2im(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x) override {
    cpu::col2im(col, g, n0, n1, x);
  }

  void depthwise_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g,
                        Tensor& y) override {
    cpu::depthwise_conv2d(x, W, b, g, y);
  }

  void depthwise_conv2d_grad_x(const Tensor& gy, const Tensor& W, const Conv2dGeometry& g, Tensor& gx) override {
    cpu::depthwise_conv2d_grad_x(gy, W, g, gx);
  }

  void depthwise_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, Tensor& gW) override {
    cpu::depthwise_conv2d_grad_w(x, gy, g, gW);
  }

  bool try_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                  Tensor& y) override {
    return cpu::conv2d_direct(x, W, b, g, groups, y) || cpu::conv2d_by_sample(x, W, b, g, groups, y);
  }
  bool try_deconv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                    Tensor& y) override {
    return cpu::deconv2d_direct(x, W, b, g, groups, y) || cpu::deconv2d_by_sample(x, W, b, g, groups, y);
  }
  bool try_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups,
                         Tensor& gW) override {
    return cpu::conv2d_grad_w_direct(x, gy, g, groups, gW) || cpu::conv2d_grad_w_by_sample(x, gy, g, groups, gW);
  }
  void max_pool2d(const Tensor& x, const Conv2dGeometry& g, ResolvedIndex& index, Tensor& y) override {
    index.offsets.resize(static_cast<size_t>(g.N * g.C * g.OH * g.OW));
    cpu::max_pool2d(x, g, index.offsets, y);
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
