// Convolutions without columns (float32, AVX-512, column stride 1): the packed GEMM's 14 x 32
// register tile, with output positions for rows and output channels for columns, reads its left
// operand straight from a zero-padded copy of the sample. Depth k = (input channel, kh, kw) of a
// group; position i of a tile is output column ow0 + i of one output row, so a(k)[i] is padded
// input element offsets[k] + i past the tile's corner: 14 broadcasts from one run of the padded
// row per k, 2 loads of the packed weights, 28 FMAs. No im2col pass and no column buffer; a
// weight panel (K x 32 floats: 36 KiB for a 3x3 over 32 channels) stays in L1 across the sample's
// tiles when K is up to about 300 (at 576, a 3x3 over 64 channels, it does not, and the forward
// gains little there). The tile leaves position-major and goes to NCHW through two 16 x 16
// register transposes.
//
// The input gradient of a stride-1 conv is one of these too: gx is gy, padded by D (K - 1) - P,
// correlated with the kernel flipped and its channel axes swapped (per group).

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "core/cpu_gemm.h"
#include "core/cpu_kernels.h"
#include "core/cpu_transpose16.h"

namespace dezero::cpu {

#if defined(__AVX512F__)
namespace {

constexpr int64_t kTileRows = 14, kTileCols = 32;  // positions x output channels per register tile
constexpr int64_t kMinDepth = 64;  // shallower (a first layer's 9), the transposes would cost more than the FMAs

// A stride-(SH, 1) correlation of G groups: input (N, G Cg, Hi, Wi) zero-padded by (ph, pw),
// output (N, G Og, OH, OW), taps at (kh DH, kw DW).
struct Direct {
  int64_t N, G, Cg, Hi, Wi, ph, pw, KH, KW, SH, DH, DW, Og, OH, OW;
  int64_t depth() const { return Cg * KH * KW; }
  int64_t padded_width() const { return Wi + 2 * pw; }
  int64_t padded_plane() const { return (Hi + 2 * ph) * padded_width(); }
};

// y[j * ldy + i] = bias[j] + sum over k of a(k)[i] b[k][j], for positions i < ROWS and the 32
// channels j, a(k) = corner + offsets[k]; b is k-major, 32 floats per k.
template <int ROWS>
void direct_tile(const float* corner, const int64_t* offsets, int64_t K, const float* b, const float* bias,
                 float* y, int64_t ldy) {
  __m512 acc[ROWS][2];
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* a = corner + offsets[k];
    const __m512 b0 = _mm512_loadu_ps(b + kTileCols * k), b1 = _mm512_loadu_ps(b + kTileCols * k + 16);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  const __mmask16 positions = static_cast<__mmask16>((1u << ROWS) - 1);
  for (int v = 0; v < 2; ++v) {
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < ROWS ? acc[i < ROWS ? i : 0][v] : _mm512_setzero_ps();
    transpose16(r);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
      const int64_t channel = 16 * v + j;
      const __m512 out = bias ? _mm512_add_ps(r[j], _mm512_set1_ps(bias[channel])) : r[j];
      _mm512_mask_storeu_ps(y + channel * ldy, positions, out);
    }
  }
}

using Tile = void (*)(const float*, const int64_t*, int64_t, const float*, const float*, float*, int64_t);

template <size_t... R>
constexpr std::array<Tile, sizeof...(R)> make_tiles(std::index_sequence<R...>) {
  return {{&direct_tile<static_cast<int>(R) + 1>...}};
}
constexpr auto kTiles = make_tiles(std::make_index_sequence<kTileRows>{});

// Runs d over every sample: weights[((g Og / 32 + panel) K + k) 32 + j] is the weight of output
// channel 32 panel + j of group g at depth k (packed by the caller).
void run(const Direct& d, const float* x, const float* weights, const float* bias, float* y) {
  const int64_t K = d.depth(), S = d.padded_width(), P = d.padded_plane(), C = d.G * d.Cg, L = d.OH * d.OW;
  std::vector<int64_t> offsets(static_cast<size_t>(K));
  for (int64_t c = 0, k = 0; c < d.Cg; ++c)
    for (int64_t kh = 0; kh < d.KH; ++kh)
      for (int64_t kw = 0; kw < d.KW; ++kw) offsets[k++] = c * P + kh * d.DH * S + kw * d.DW;
  parallel_for(d.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<float> padded(static_cast<size_t>(C * P), 0.0f);  // the border is written once
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < d.Hi; ++h) {
          const float* row = x + ((n * C + c) * d.Hi + h) * d.Wi;
          std::copy(row, row + d.Wi, padded.data() + c * P + (h + d.ph) * S + d.pw);
        }
      for (int64_t g = 0; g < d.G; ++g)
        for (int64_t panel = 0; panel < d.Og / kTileCols; ++panel) {
          const int64_t o0 = g * d.Og + panel * kTileCols;
          const float* b = weights + o0 * K;
          for (int64_t oh = 0; oh < d.OH; ++oh)
            for (int64_t ow0 = 0; ow0 < d.OW; ow0 += kTileRows) {
              const float* corner = padded.data() + g * d.Cg * P + oh * d.SH * S + ow0;
              kTiles[std::min(kTileRows, d.OW - ow0) - 1](corner, offsets.data(), K, b, bias ? bias + o0 : nullptr,
                                                          y + (n * d.G * d.Og + o0) * L + oh * d.OW + ow0, L);
            }
        }
    }
  });
}

// Whether the direct path applies and pays: float32 on the AVX-512 kernel, samples for every
// thread, column stride 1, whole 32-channel panels, rows of at least one tile, enough depth.
bool direct_pays(const Tensor& x, const Direct& d, int64_t SW) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return x.dtype() == DType::Float32 && has_fast_sgemm() && (threads == 1 || d.N >= 2 * threads) && SW == 1 &&
         d.Og % kTileCols == 0 && d.OW >= kTileRows && d.depth() >= kMinDepth;
}

}  // namespace

bool conv2d_direct(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                   Tensor& y) {
  const Direct d{g.N,  groups, g.C / groups, g.H,  g.W,  g.PH, g.PW,  g.KH,
                 g.KW, g.SH,   g.DH,         g.DW, W.size(0) / groups, g.OH, g.OW};
  if (!direct_pays(x, d, g.SW)) return false;
  // W (OC, Cg, KH, KW) is already (output channel, depth): panels of 32 output channels, k-major.
  const int64_t K = d.depth(), OC = W.size(0);
  std::vector<float> packed(static_cast<size_t>(OC * K));
  const float* w = W.data<float>();
  for (int64_t o0 = 0; o0 < OC; o0 += kTileCols)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < kTileCols; ++j) packed[o0 * K + k * kTileCols + j] = w[(o0 + j) * K + k];
  run(d, x.data<float>(), packed.data(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  return true;
}

bool deconv2d_direct(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                     Tensor& y) {
  // The image y (N, C, H, W) is the stride-1 correlation of the grid x (N, Cin, OH, OW), padded
  // by D (K - 1) - P, with W[ci, co, KH - 1 - kh, KW - 1 - kw] per group.
  const int64_t qh = g.DH * (g.KH - 1) - g.PH, qw = g.DW * (g.KW - 1) - g.PW;
  if (g.SH != 1 || qh < 0 || qw < 0 || g.H != g.OH + qh - g.PH || g.W != g.OW + qw - g.PW) return false;
  const int64_t Cin = x.size(1), Cg = Cin / groups, Og = g.C / groups;
  const Direct d{g.N, groups, Cg, g.OH, g.OW, qh, qw, g.KH, g.KW, 1, g.DH, g.DW, Og, g.H, g.W};
  if (!direct_pays(x, d, g.SW)) return false;
  const int64_t K = d.depth(), KK = g.KH * g.KW;
  std::vector<float> packed(static_cast<size_t>(g.C * K));
  const float* w = W.data<float>();  // (Cin, Og, KH, KW)
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t o0 = gi * Og; o0 < (gi + 1) * Og; o0 += kTileCols)
      for (int64_t ci = 0; ci < Cg; ++ci)
        for (int64_t t = 0; t < KK; ++t)
          for (int64_t j = 0; j < kTileCols; ++j) {
            const int64_t k = ci * KK + t, co = o0 + j - gi * Og;
            packed[o0 * K + k * kTileCols + j] = w[((gi * Cg + ci) * Og + co) * KK + (KK - 1 - t)];
          }
  run(d, x.data<float>(), packed.data(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  return true;
}

#else

bool conv2d_direct(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
  return false;
}

bool deconv2d_direct(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
  return false;
}

#endif

}  // namespace dezero::cpu
