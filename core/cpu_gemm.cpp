// Packed SGEMM with AVX-512 micro-kernels. Blocking (BLIS's loop order): for each NC-wide
// column block of B and KC-deep slice, B is packed once into NR-wide panels; each thread packs
// its MC x KC block of A into MR-tall panels and runs the 14 x 32 micro-kernel: 28 zmm
// accumulators, 2 loads of B and 14 broadcasts of A per k. Slices are deep (KC = 1024: a panel
// of B is 128 KiB, in L2 rather than L1) because every further slice reads and writes C again,
// which costs more at these sizes (docs/PERFORMANCE.md).

#include "dezero/core/cpu_gemm.h"

#include "dezero/core/cpu_lanes.h"
#include "dezero/core/cpu_transpose16.h"
#include "dezero/core/error.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace dezero::cpu {

#if defined(__AVX512F__)
namespace {

constexpr int64_t MR = 14, NR = 32;  // register tile
constexpr int64_t KC = 1024;         // depth of one packed slice
constexpr int64_t MC_MAX = 14 * 40;  // rows of A per block (up to 560 x 1024 floats, about L2's size)
constexpr int64_t NC = 32 * 128;     // columns of B per block

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

// A per-thread packing buffer of at least n floats, kept between calls: a fresh allocation
// would page-fault on every call (~2 us per 4 KiB page on these VMs).
float* scratch(int slot, int64_t n) {
  struct Scratch {
    Buffer data;
    int64_t size = 0;
  };
  static thread_local Scratch buffers[2];
  Scratch& b = buffers[slot];
  if (b.size < n) {
    b.data.reset(static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>((n * 4 + 63) / 64 * 64))));
    b.size = n;
  }
  return b.data.get();
}

// Packs rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) into MR-tall panels, k-major inside a
// panel, rows past mc padded with zeros. A transposed A is copied row by row; a row-major A goes
// through 16 x 16 register transposes (16 depths of up to 16 rows at a time).
void pack_a(const float* A, int64_t lda, bool trans, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* out) {
  for (int64_t ip = 0; ip < mc; ip += MR) {
    const int64_t rows = std::min(MR, mc - ip);
    float* panel = out + ip * kc;
    const __mmask16 mask = first_lanes_mask(rows), panel_rows = first_lanes_mask(MR);  // rows <= MR = 14 < 16
    if (trans) {  // op(A)(i, k) = A[k][i]: row k of A holds the panel's k-th slice
      for (int64_t k = 0; k < kc; ++k)
        _mm512_mask_storeu_ps(panel + k * MR, panel_rows,
                              _mm512_maskz_loadu_ps(mask, A + (p0 + k) * lda + i0 + ip));
      continue;
    }
    const float* src = A + (i0 + ip) * lda + p0;
    for (int64_t k = 0; k < kc; k += 16) {
      const __mmask16 depths = first_lanes_mask(std::min<int64_t>(16, kc - k));
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(depths, src + i * lda + k) : _mm512_setzero_ps();
      transpose16(r);  // r[j] = depth k + j of the panel's rows
      for (int j = 0; j < 16 && k + j < kc; ++j)
        _mm512_mask_storeu_ps(panel + (k + j) * MR, panel_rows, r[j]);
    }
  }
}

// Packs NR-wide panel starting at column jp of op(B) rows [p0, p0 + kc), columns [j0, j0 + nc),
// zero-padded.
void pack_b_panel(const float* B, int64_t ldb, bool trans, int64_t p0, int64_t kc, int64_t j0,
                  int64_t nc, int64_t jp, float* out) {
  const int64_t cols = std::min(NR, nc - jp);
  float* panel = out + jp * kc;
  if (cols < NR) std::fill(panel, panel + kc * NR, 0.0f);
  if (trans) {  // op(B)(k, j) = B[j][k]: row j of B is column j of the panel
    const float* src = B + (j0 + jp) * ldb + p0;
    int64_t c0 = 0;
    for (; c0 + 16 <= cols; c0 += 16) {  // 16 x 16 blocks through registers
      int64_t k = 0;
      for (; k + 16 <= kc; k += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + (c0 + i) * ldb + k);
        transpose16(r);
        for (int i = 0; i < 16; ++i) _mm512_store_ps(panel + (k + i) * NR + c0, r[i]);
      }
      for (; k < kc; ++k)
        for (int64_t c = c0; c < c0 + 16; ++c) panel[k * NR + c] = src[c * ldb + k];
    }
    for (int64_t c = c0; c < cols; ++c)
      for (int64_t k = 0; k < kc; ++k) panel[k * NR + c] = src[c * ldb + k];
  } else if (cols == NR) {  // two vector moves per row: a memcpy call per 128 bytes costs more than the copy
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B + (p0 + k) * ldb + j0 + jp;
      _mm512_storeu_ps(panel + k * NR, _mm512_loadu_ps(src));
      _mm512_storeu_ps(panel + k * NR + 16, _mm512_loadu_ps(src + 16));
    }
  } else {
    for (int64_t k = 0; k < kc; ++k) std::memcpy(panel + k * NR, B + (p0 + k) * ldb + j0 + jp, cols * sizeof(float));
  }
}

// acc (ROWS x 16 VECS) = A panel (kc x MR) . B (kc x NR, row k at b + k ldb); then C = alpha acc +
// beta C (+ bias[i] on row i when bias is not null) on the rows x cols corner that exists
// (beta == 0 never reads C). Edge tiles get smaller
// ROWS and VECS, so a 100-wide C wastes no FMAs on padding columns. A packed B panel (ldb = NR,
// zero-padded, aligned) is read whole; B in place (kInPlaceB) with masked loads, so that nothing
// past column `cols` of a row is read.
template <int ROWS, int VECS, bool kInPlaceB>
void micro_kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* C, int64_t ldc, int64_t cols,
                  float alpha, float beta, const float* bias) {
  __m512 acc[ROWS][VECS];
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; ++i)
    for (int v = 0; v < VECS; ++v) acc[i][v] = _mm512_setzero_ps();
  __mmask16 mask[VECS];
  for (int v = 0; v < VECS; ++v) {
    const int64_t c = std::clamp<int64_t>(cols - 16 * v, 0, 16);
    mask[v] = static_cast<__mmask16>(c == 16 ? 0xFFFF : (1u << c) - 1);
  }
  for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb) {
    __m512 bv[VECS];
    for (int v = 0; v < VECS; ++v)
      bv[v] = kInPlaceB ? _mm512_maskz_loadu_ps(mask[v], b + 16 * v) : _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      for (int v = 0; v < VECS; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; ++i) {
    for (int v = 0; v < VECS; ++v) {
      float* c = C + i * ldc + 16 * v;
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], c), r);
      if (bias != nullptr) r = _mm512_add_ps(r, _mm512_set1_ps(bias[i]));
      _mm512_mask_storeu_ps(c, mask[v], r);
    }
  }
}

using MicroKernel = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int64_t, float, float,
                             const float*);

// kernels[rows - 1][vecs - 1]: one instance per tile shape.
template <bool kInPlaceB, size_t... R>
constexpr std::array<std::array<MicroKernel, 2>, MR> make_kernels(std::index_sequence<R...>) {
  return {{{&micro_kernel<R + 1, 1, kInPlaceB>, &micro_kernel<R + 1, 2, kInPlaceB>}...}};
}
constexpr auto kPackedKernels = make_kernels<false>(std::make_index_sequence<MR>{});
constexpr auto kInPlaceKernels = make_kernels<true>(std::make_index_sequence<MR>{});

void run_tile(int64_t kc, const float* a, const float* b, float* C, int64_t ldc, int64_t rows,
              int64_t cols, float alpha, float beta) {
  kPackedKernels[rows - 1][cols > 16 ? 1 : 0](kc, a, b, NR, C, ldc, cols, alpha, beta, nullptr);
}

}  // namespace

bool has_fast_sgemm() { return true; }

bool prefer_fast_sgemm(int64_t M, int64_t N, int64_t K) {
  // Measured (docs/PERFORMANCE.md, ninth session): below 32 columns the 32-wide register tile
  // idles (Eigen 1.3-2.2x faster at N = 10-24); on one thread Eigen ties or wins below ~2^24
  // multiply-adds (a grouped conv's per-sample products) and the packed kernel wins above.
  const bool multithreaded = !omp_in_parallel() && omp_get_max_threads() > 1;
  return N >= 32 && (multithreaded || M * N * K >= (int64_t{1} << 24));
}

PackedA::PackedA(int64_t M, int64_t K, float alpha, const float* A, int64_t lda, bool trans_a)
    : M_(M), K_(K), alpha_(alpha) {
  const int64_t slices = std::max<int64_t>(1, (K + KC - 1) / KC);
  kc_ = (K + slices - 1) / slices;  // equal slices, as in sgemm
  const int64_t rows = (M + MR - 1) / MR * MR;
  data_.reset(static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>((rows * K * 4 + 63) / 64 * 64))));
  for (int64_t p0 = 0; p0 < K; p0 += kc_) pack_a(A, lda, trans_a, 0, M, p0, std::min(kc_, K - p0), data_.get() + rows * p0);
}

PackedA::~PackedA() = default;

void sgemm_packed(const PackedA& a, int64_t N, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                  const float* row_bias) {
  const int64_t M = a.M_, K = a.K_, rows = (M + MR - 1) / MR * MR;
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        C[i * ldc + j] = (beta == 0 ? 0.f : beta * C[i * ldc + j]) + (row_bias ? row_bias[i] : 0.f);
    return;
  }
  // B is read in place: a column panel of B (kc rows of NR floats) stays in L1 across the A
  // panels, which stay in L2 across the B panels.
  for (int64_t p0 = 0; p0 < K; p0 += a.kc_) {
    const int64_t kc = std::min(a.kc_, K - p0);
    const float* slice = a.data_.get() + rows * p0;
    const float beta_here = p0 == 0 ? beta : 1.0f;
    const float* bias_here = p0 == 0 ? row_bias : nullptr;
    for (int64_t j0 = 0; j0 < N; j0 += NR) {
      const int64_t cols = std::min(NR, N - j0);
      for (int64_t i0 = 0; i0 < M; i0 += MR)
        kInPlaceKernels[std::min(MR, M - i0) - 1][cols > 16 ? 1 : 0](
            kc, slice + i0 * kc, B + p0 * ldb + j0, ldb, C + i0 * ldc + j0, ldc, cols, a.alpha_, beta_here,
            bias_here == nullptr ? nullptr : bias_here + i0);
    }
  }
}

void sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, bool trans_a,
           const float* B, int64_t ldb, bool trans_b, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? 0.f : beta * C[i * ldc + j];
    return;
  }
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Rows per A block: all of M when it fits in L2 (the threads then split B's panels, which
  // balances to one panel whatever M is); otherwise M split evenly over the threads.
  const int64_t per_thread = M <= MC_MAX ? M : (M + threads - 1) / threads;
  const int64_t MC = std::min(MC_MAX, std::max<int64_t>(MR, (per_thread + MR - 1) / MR * MR));
  const int64_t m_blocks = (M + MC - 1) / MC;
  const int64_t nc_max = std::min(NC, (N + NR - 1) / NR * NR);
  // Equal K slices of at most KC (784 = 392 + 392, not 384 + 384 + 16).
  const int64_t k_slices = (K + KC - 1) / KC;
  const int64_t kc_step = (K + k_slices - 1) / k_slices;
  float* b_pack = scratch(0, kc_step * nc_max);  // shared by the team, owned by the calling thread

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int nt = omp_get_num_threads();
    float* a_pack = scratch(1, MC * kc_step);
    for (int64_t j0 = 0; j0 < N; j0 += NC) {
      const int64_t nc = std::min(NC, N - j0);
      const int64_t n_panels = (nc + NR - 1) / NR;
      for (int64_t p0 = 0; p0 < K; p0 += kc_step) {
        const int64_t kc = std::min(kc_step, K - p0);
        const float beta_here = p0 == 0 ? beta : 1.0f;
#pragma omp for schedule(static)
        for (int64_t jp = 0; jp < n_panels; ++jp)
          pack_b_panel(B, ldb, trans_b, p0, kc, j0, nc, jp * NR, b_pack);
        // Work items: (A block, range of B panels); panels are split when blocks are fewer
        // than threads so that both cores work on small M.
        const int64_t splits = std::max<int64_t>(1, nt / m_blocks);
        const int64_t items = m_blocks * splits;
#pragma omp for schedule(static)
        for (int64_t w = 0; w < items; ++w) {
          const int64_t ib = w / splits, s = w % splits;
          const int64_t i0 = ib * MC, mc = std::min(MC, M - i0);
          const int64_t jp0 = n_panels * s / splits, jp1 = n_panels * (s + 1) / splits;
          pack_a(A, lda, trans_a, i0, mc, p0, kc, a_pack);
          for (int64_t jp = jp0; jp < jp1; ++jp) {
            const int64_t cols = std::min(NR, nc - jp * NR);
            for (int64_t ip = 0; ip < mc; ip += MR)
              run_tile(kc, a_pack + ip * kc, b_pack + jp * NR * kc, C + (i0 + ip) * ldc + j0 + jp * NR,
                       ldc, std::min(MR, mc - ip), cols, alpha, beta_here);
          }
        }
      }
    }
  }
}

#else  // no AVX-512: the backend uses Eigen

PackedA::PackedA(int64_t, int64_t, float, const float*, int64_t, bool) {
  DZ_ASSERT(false, "PackedA: built without AVX-512; check has_fast_sgemm() first");
}

PackedA::~PackedA() = default;

void sgemm_packed(const PackedA&, int64_t, const float*, int64_t, float, float*, int64_t, const float*) {
  DZ_ASSERT(false, "sgemm_packed: called in a build without AVX-512; check has_fast_sgemm() first");
}

bool has_fast_sgemm() { return false; }

bool prefer_fast_sgemm(int64_t, int64_t, int64_t) { return false; }

void sgemm(int64_t, int64_t, int64_t, float, const float*, int64_t, bool, const float*, int64_t, bool,
           float, float*, int64_t) {
  DZ_ASSERT(false, "sgemm: called in a build without AVX-512; check has_fast_sgemm() first");
}

#endif

}  // namespace dezero::cpu
