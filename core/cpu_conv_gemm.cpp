// Convolution products of the CPU backend, one whole sample per thread: the thread builds the
// sample's columns (im2col) in its own buffer and multiplies them while they are still in its
// L2, instead of all threads writing a shared chunk of columns and then reading each other's.
// When a sample's columns would not fit in L2, the thread builds and multiplies them a tile of
// output rows at a time. float32 with AVX-512 multiplies by weights packed once per call
// (cpu::PackedA) and reads the columns in place; float64 uses Eigen per product (whole samples
// only). Used when the batch keeps every thread busy.

#include <array>
#include <utility>
#include <vector>

#include "dezero/core/cpu_gemm.h"
#include "dezero/core/cpu_kernels.h"
#include "dezero/core/cpu_lanes.h"
#include "dezero/core/error.h"

namespace dezero::cpu {
namespace {

constexpr size_t kL2 = size_t{1} << 20;  // half of this machine's 2 MiB per core: the rest holds W and y

// Whether the packed kernel multiplies this dtype (it reads columns with padded rows, and tiles).
template <class T>
bool packed_products() {
  return std::is_same_v<T, float> && has_fast_sgemm();
}

// Whether samples per thread pay: every thread gets work (else the caller's path, whose products
// are multithreaded, is faster), and a sample's columns fit in a core's L2 or can be built a tile
// of output rows at a time (not a pointwise conv's, which are the input itself; not on the Eigen
// path). Otherwise they would be read back from memory, and the caller's packed products win.
template <class T>
bool worth_it(const Conv2dGeometry& g) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const size_t columns = static_cast<size_t>(g.col_rows() * g.col_cols()) * sizeof(T);
  return (threads == 1 || g.N >= 2 * threads) && (columns <= kL2 || (packed_products<T>() && !g.pointwise()));
}

// The output rows whose columns one product covers (all, or as many as fit in kL2), and the
// distance between rows of those columns: float32 rows for the packed kernel start on 64-byte
// boundaries, so that a 32-column row of a panel spans two cache lines, not three (the Eigen
// paths, and the input itself as a 1x1 conv's columns, are dense).
struct ColumnTiles {
  int64_t rows, ld;
};

template <class T>
ColumnTiles column_tiles(const Conv2dGeometry& g) {
  const size_t row_bytes = static_cast<size_t>(g.col_rows() * g.OW) * sizeof(T);
  const int64_t rows = row_bytes * g.OH <= kL2 ? g.OH : std::max<int64_t>(1, static_cast<int64_t>(kL2 / row_bytes));
  const int64_t L = rows * g.OW;
  return {rows, packed_products<T>() && !g.pointwise() ? (L + 15) / 16 * 16 : L};
}

// rows[i * len + j] += bias[i] for count rows (a no-op without bias).
template <class T>
void add_row_bias(T* rows, int64_t count, int64_t len, const T* bias) {
  if (bias == nullptr) return;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < len; ++j) rows[i * len + j] += bias[i];
}

// The weights of each group as the left operand of C (M x L) = op(W_g) (M x K) . B (K x L).
template <class T>
class GroupWeights {
 public:
  GroupWeights(const T* w, int64_t groups, int64_t M, int64_t K, bool trans) : w_(w), M_(M), K_(K), trans_(trans) {
    if constexpr (std::is_same_v<T, float>) {
      if (has_fast_sgemm())
        for (int64_t gi = 0; gi < groups; ++gi) packed_.emplace_back(M, K, 1.0f, w + gi * M * K, trans ? M : K, trans);
    }
  }
  /// C = op(W_g) . B (+ bias[i] on row i when given) on the calling thread; B and C have L
  /// columns, their rows ldb and ldc apart (both L on the Eigen path: whole, dense samples).
  void multiply(int64_t gi, const T* B, int64_t ldb, int64_t L, T* C, int64_t ldc, const T* bias = nullptr) const {
    if constexpr (std::is_same_v<T, float>) {
      if (!packed_.empty()) return sgemm_packed(packed_[gi], L, B, ldb, 0.0f, C, ldc, bias);
    }
    DZ_ASSERT(ldb == L && ldc == L, "conv products: padded rows on the Eigen path");
    gemm_one(w_ + gi * M_ * K_, B, C, GemmSpec{M_, L, K_, trans_, false, 1.0, 0.0, {}, {}, {}});
    add_row_bias(C, M_, L, bias);
  }

 private:
  const T* w_;
  int64_t M_, K_;
  bool trans_;
  std::vector<PackedA> packed_;
};

// A per-thread buffer for one tile's columns (from the caching allocator: no page faults).
template <class T>
Tensor column_buffer(const Conv2dGeometry& g, const ColumnTiles& tiles) {
  return Tensor::empty({g.pointwise() ? 1 : g.col_rows() * tiles.ld}, std::is_same_v<T, float> ? Float32 : Float64);
}

// The columns of output rows [r0, r1) of sample n, rows ld apart: x[n] itself for a pointwise
// conv (whole samples), else im2col into `col`.
template <class T>
const T* columns(const Tensor& x, const Conv2dGeometry& g, int64_t n, int64_t r0, int64_t r1, Tensor& col,
                 int64_t ld) {
  if (g.pointwise()) return x.data<T>() + n * g.C * g.H * g.W;
  im2col(x, g, n, n + 1, col, ld, {r0, r1});
  return col.data<T>();
}

// Calls f(r0, r1) for each tile of output rows, in order.
template <class F>
void for_each_tile(const Conv2dGeometry& g, const ColumnTiles& tiles, F&& f) {
  for (int64_t r0 = 0; r0 < g.OH; r0 += tiles.rows) f(r0, std::min(g.OH, r0 + tiles.rows));
}

// The bias, if any, is added as each product's rows are stored (no extra pass over y).
template <class T>
void conv_forward(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t G, Tensor& y) {
  const int64_t OC = W.size(0), OCg = OC / G, K = g.col_rows() / G, L = g.col_cols();
  const GroupWeights<T> weights(W.data<T>(), G, OCg, K, false);
  const T* bias = b.defined() ? b.data<T>() : nullptr;
  const ColumnTiles tiles = column_tiles<T>(g);
  T* py = y.data<T>();
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    Tensor col = column_buffer<T>(g, tiles);
    for (int64_t n = n0; n < n1; ++n)
      for_each_tile(g, tiles, [&](int64_t r0, int64_t r1) {
        const T* c = columns<T>(x, g, n, r0, r1, col, tiles.ld);
        for (int64_t gi = 0; gi < G; ++gi)
          weights.multiply(gi, c + gi * K * tiles.ld, tiles.ld, (r1 - r0) * g.OW, py + (n * OC + gi * OCg) * L + r0 * g.OW,
                           L, bias ? bias + gi * OCg : nullptr);
      });
  });
}

// x is the output-shaped input (N, OC, OH, OW); y[n] = col2im(W_g^T x[n, g]) + b, the bias added to
// each sample while it is in cache. Tiles of output rows add into y[n], cleared first.
template <class T>
void deconv_forward(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t G,
                    Tensor& y) {
  const int64_t OC = W.size(0), OCg = OC / G, K = g.col_rows() / G, L = g.col_cols(), image = g.C * g.H * g.W;
  const GroupWeights<T> weights(W.data<T>(), G, K, OCg, true);
  const T* bias = b.defined() ? b.data<T>() : nullptr;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const ColumnTiles tiles = column_tiles<T>(g);
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    Tensor col = column_buffer<T>(g, tiles);
    for (int64_t n = n0; n < n1; ++n) {
      if (g.pointwise()) {  // a 1x1 conv's columns are the image: K = C/G rows per group
        for (int64_t gi = 0; gi < G; ++gi)
          weights.multiply(gi, px + (n * OC + gi * OCg) * L, L, L, py + (n * g.C + gi * K) * L, L,
                           bias ? bias + gi * K : nullptr);
        continue;
      }
      if (tiles.rows < g.OH) std::fill(py + n * image, py + (n + 1) * image, T(0));
      for_each_tile(g, tiles, [&](int64_t r0, int64_t r1) {
        for (int64_t gi = 0; gi < G; ++gi)
          weights.multiply(gi, px + (n * OC + gi * OCg) * L + r0 * g.OW, L, (r1 - r0) * g.OW,
                           col.data<T>() + gi * K * tiles.ld, tiles.ld);
        col2im(col, g, n, n + 1, y, tiles.ld, {r0, r1});
      });
      add_row_bias(py + n * image, g.C, g.H * g.W, bias);
    }
  });
}

// C (MB x NB block, rows ldc apart) += A (MB rows, lda apart) . B (NB rows, ldb apart)^T, every
// row P long: MB x NB dot products 16 lanes of P at a time, the lanes summed at the end.
template <int MB, int NB, class T>
void dot_block(const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, int64_t P) {
  Lanes<T> acc[MB][NB] = {};
  for (int64_t p = 0; p < P; p += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, P - p);
    Lanes<T> b[NB];
    for (int j = 0; j < NB; ++j) b[j] = load_first(B + j * ldb + p, n);
    for (int i = 0; i < MB; ++i) {
      const Lanes<T> a = load_first(A + i * lda + p, n);
      for (int j = 0; j < NB; ++j) acc[i][j] += a * b[j];
    }
  }
  for (int i = 0; i < MB; ++i)
    for (int j = 0; j < NB; ++j) C[i * ldc + j] += sum_lanes<T>(acc[i][j]);
}

template <class T>
using DotBlockOf = void (*)(const T*, int64_t, const T*, int64_t, T*, int64_t, int64_t);

constexpr int kDotRows = 4, kDotCols = 3;  // 12 accumulators: 7 loads per 12 multiply-adds

template <class T, size_t... I>
constexpr std::array<DotBlockOf<T>, kDotRows * kDotCols> dot_blocks(std::index_sequence<I...>) {
  return {&dot_block<static_cast<int>(I / kDotCols) + 1, static_cast<int>(I % kDotCols) + 1, T>...};
}

// C (M x N, rows N apart) += A (M x P, rows lda apart) . B (N x P, rows ldb apart)^T: the weight
// gradient's products when the columns per group are few (a first layer's 9): a GEMM would
// pack B's P x N transpose for a handful of outputs per row (Eigen ran ~15 GFLOP/s there).
template <class T>
void dot_products(const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t M, int64_t N, int64_t P) {
  static constexpr auto blocks = dot_blocks<T>(std::make_index_sequence<kDotRows * kDotCols>{});
  for (int64_t i = 0; i < M; i += kDotRows) {
    const int64_t mb = std::min<int64_t>(kDotRows, M - i);
    for (int64_t j = 0; j < N; j += kDotCols) {
      const int64_t nb = std::min<int64_t>(kDotCols, N - j);
      blocks[(mb - 1) * kDotCols + nb - 1](A + i * lda, lda, B + j * ldb, ldb, C + i * N + j, N, P);
    }
  }
}

// Columns per group up to which the weight gradient uses dot_products rather than a GEMM; also
// with at most kDotMaxRows filters per group (groups of 32 with 4 each: 12-35% faster than a
// GEMM, whose 14-row tiles would be mostly empty; with 8 the GEMM was as fast or faster).
constexpr int64_t kDotMaxColumns = 32, kDotMaxRows = 4;

// gW_g (M x K) += gy[n, g] (M x L, rows lda apart) . col[n, g]^T (L x K, rows ld apart), on the
// calling thread: by dot products when K or M is small; else Eigen on whole, dense samples (as fast
// as the packed kernel there, and it serves float64), the packed kernel on tiles (it packs the
// columns' transpose through register transposes).
template <class T>
void add_weight_gradient(const T* gy, int64_t lda, const T* col, int64_t ld, T* gW, int64_t M, int64_t K, int64_t L) {
  if (K <= kDotMaxColumns || M <= kDotMaxRows) return dot_products(gy, lda, col, ld, gW, M, K, L);
  if (lda == L && ld == L) return gemm_one(gy, col, gW, GemmSpec{M, K, L, false, true, 1.0, 1.0, {}, {}, {}});
  if constexpr (std::is_same_v<T, float>) {
    DZ_ASSERT(has_fast_sgemm(), "conv weight gradient: tiles without the packed kernel");
    sgemm(M, K, L, 1.0f, gy, lda, false, col, ld, true, 1.0f, gW, K);
  } else {
    DZ_ASSERT(false, "conv weight gradient: tiles of float64 columns");
  }
}

// Sample n accumulates into partial n % P (P = 8, in order; its tiles in order) and the partials
// are summed in order at the end: the same result whatever the number of threads.
template <class T>
void conv_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t G, Tensor& gW) {
  const int64_t OC = gy.size(1), OCg = OC / G, K = g.col_rows() / G, L = g.col_cols(), w_numel = OC * K;
  const int64_t partials = std::min<int64_t>(8, g.N);
  std::vector<T> acc(static_cast<size_t>(partials * w_numel), T(0));
  const T* pg = gy.data<T>();
  ColumnTiles tiles = column_tiles<T>(g);
  if (tiles.rows == g.OH) tiles.ld = L;  // whole samples: dense rows for Eigen
  parallel_for(partials, 1, [&](int64_t p0, int64_t p1) {
    Tensor col = column_buffer<T>(g, tiles);
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t n = p; n < g.N; n += partials)
        for_each_tile(g, tiles, [&](int64_t r0, int64_t r1) {
          const T* c = columns<T>(x, g, n, r0, r1, col, tiles.ld);
          for (int64_t gi = 0; gi < G; ++gi)
            add_weight_gradient(pg + (n * OC + gi * OCg) * L + r0 * g.OW, L, c + gi * K * tiles.ld, tiles.ld,
                                acc.data() + p * w_numel + gi * OCg * K, OCg, K, (r1 - r0) * g.OW);
        });
  });
  T* out = gW.data<T>();
  parallel_for(w_numel, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T total = acc[i];
      for (int64_t p = 1; p < partials; ++p) total += acc[p * w_numel + i];
      out[i] = total;
    }
  });
}

bool by_sample_pays(const Conv2dGeometry& g, DType dtype) {
  return dtype == DType::Float32 ? worth_it<float>(g) : worth_it<double>(g);
}

}  // namespace

bool conv2d_by_sample(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                      Tensor& y) {
  if (!by_sample_pays(g, x.dtype())) return false;
  dispatch(x.dtype(), [&](auto t) { conv_forward<decltype(t)>(x, W, b, g, groups, y); });
  return true;
}

bool deconv2d_by_sample(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                        Tensor& y) {
  if (!by_sample_pays(g, x.dtype())) return false;
  dispatch(x.dtype(), [&](auto t) { deconv_forward<decltype(t)>(x, W, b, g, groups, y); });
  return true;
}

bool conv2d_grad_w_by_sample(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups, Tensor& gW) {
  if (!by_sample_pays(g, x.dtype())) return false;
  dispatch(x.dtype(), [&](auto t) { conv_grad_w<decltype(t)>(x, gy, g, groups, gW); });
  return true;
}

}  // namespace dezero::cpu
