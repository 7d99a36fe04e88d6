// Convolutions without columns (float32, AVX-512, column stride 1): the packed GEMM's 14 x 32
// register tile, with output positions for rows and output channels for columns, reads its left
// operand straight from a zero-padded copy of the sample. Depth k = (input channel, kh, kw) of a
// group; position i of a tile is output column ow0 + i of one output row, so a(k)[i] is padded
// input element offsets[k] + i past the tile's corner: 14 broadcasts from one run of the padded
// row per k, 2 loads of the packed weights, 28 FMAs. No im2col pass and no column buffer; a
// weight panel (K x 32 floats: 36 KiB for a 3x3 over 32 channels) stays in L1 across the sample's
// tiles when K is up to about 300 (at 576, a 3x3 over 64 channels, it does not, and the forward
// gains little there). The tile leaves position-major and goes to NCHW through two 16 x 16
// register transposes. Groups whose filters come in 16s but not 32s take a 14 x 16 tile (1 load
// and 14 broadcasts per 14 FMAs).
//
// The input gradient of a stride-1 conv is one of these too: gx is gy, padded by D (K - 1) - P,
// correlated with the kernel flipped and its channel axes swapped (per group). The weight
// gradient of a 3x3 conv (any stride and dilation) turns the tile around: output positions are
// the depth, the nine taps of one input channel the rows (see run_grad_w).

#include <algorithm>
#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "dezero/core/cpu_gemm.h"
#include "dezero/core/cpu_kernels.h"
#include "dezero/core/cpu_transpose16.h"

namespace dezero::cpu {

#if defined(__AVX512F__)
namespace {

constexpr int64_t kTileRows = 14;  // output positions per register tile
constexpr int64_t kMinDepth = 64;  // shallower (a first layer's 9), the transposes would cost more than the FMAs

// A stride-(SH, SW) correlation of G groups: input (N, G Cg, Hi, Wi) zero-padded by (ph, pw),
// output (N, G Og, OH, OW), taps at (kh DH, kw DW).
struct Direct {
  int64_t N, G, Cg, Hi, Wi, ph, pw, KH, KW, SH, DH, DW, Og, OH, OW, SW = 1;
  int64_t depth() const { return Cg * KH * KW; }
  int64_t padded_width() const { return Wi + 2 * pw; }
  int64_t padded_plane() const { return (Hi + 2 * ph) * padded_width(); }
  size_t padded_size() const { return static_cast<size_t>(G * Cg * padded_plane()); }
  /// Output channels per register tile: 32, or 16 when a group has fewer than 32 or an odd number of 16s.
  int64_t panel() const { return Og % 32 == 0 ? 32 : 16; }
};

// n zeroed floats, 64-byte aligned: a 16-float load from a 32-channel panel or a row of gy^T
// then never straddles two cache lines.
std::shared_ptr<float> aligned_floats(int64_t n) {
  std::shared_ptr<float> p = std::static_pointer_cast<float>(allocate(static_cast<size_t>(n) * sizeof(float)));
  std::fill(p.get(), p.get() + n, 0.0f);
  return p;
}

// y[j * ldy + i] = bias[j] + sum over k of a(k)[i] b[k][j], for positions i < ROWS and the 16 V
// channels j, a(k) = corner + offsets[k]; b is k-major, 16 V floats per k.
template <int ROWS, int V>
void direct_tile(const float* corner, const int64_t* offsets, int64_t K, const float* b, const float* bias,
                 float* y, int64_t ldy) {
  __m512 acc[ROWS][V];
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* a = corner + offsets[k];
    __m512 bk[V];
    for (int v = 0; v < V; ++v) bk[v] = _mm512_loadu_ps(b + 16 * V * k + 16 * v);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bk[v], acc[i][v]);
    }
  }
  const __mmask16 positions = static_cast<__mmask16>((1u << ROWS) - 1);
  for (int v = 0; v < V; ++v) {
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

// kTiles[V - 1][rows - 1]: the tile of `rows` positions and 16 V channels.
template <size_t... R>
constexpr std::array<std::array<Tile, sizeof...(R)>, 2> make_tiles(std::index_sequence<R...>) {
  return {{{{&direct_tile<static_cast<int>(R) + 1, 1>...}}, {{&direct_tile<static_cast<int>(R) + 1, 2>...}}}};
}
constexpr auto kTiles = make_tiles(std::make_index_sequence<kTileRows>{});

// Copies sample n of x into the interior of `padded` (G Cg planes, padded_plane() apart), whose
// border the caller zeroed once.
void pad_sample(const Direct& d, const float* x, int64_t n, float* padded) {
  const int64_t C = d.G * d.Cg, S = d.padded_width(), P = d.padded_plane();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < d.Hi; ++h) {
      const float* row = x + ((n * C + c) * d.Hi + h) * d.Wi;
      std::copy(row, row + d.Wi, padded + c * P + (h + d.ph) * S + d.pw);
    }
}

// Runs d over every sample: weights[o0 K + k W + j], W = d.panel(), is the weight of output
// channel o0 + j (o0 a multiple of W) at depth k of its group (packed by the caller).
void run(const Direct& d, const float* x, const float* weights, const float* bias, float* y) {
  const int64_t K = d.depth(), S = d.padded_width(), P = d.padded_plane(), L = d.OH * d.OW;
  std::vector<int64_t> offsets(static_cast<size_t>(K));
  for (int64_t c = 0, k = 0; c < d.Cg; ++c)
    for (int64_t kh = 0; kh < d.KH; ++kh)
      for (int64_t kw = 0; kw < d.KW; ++kw) offsets[k++] = c * P + kh * d.DH * S + kw * d.DW;
  const auto& tiles = kTiles[d.panel() / 16 - 1];
  parallel_for(d.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<float> padded(d.padded_size(), 0.0f);  // the border is written once
    for (int64_t n = n0; n < n1; ++n) {
      pad_sample(d, x, n, padded.data());
      for (int64_t g = 0; g < d.G; ++g)
        for (int64_t o0 = g * d.Og; o0 < (g + 1) * d.Og; o0 += d.panel()) {
          const float* b = weights + o0 * K;
          for (int64_t oh = 0; oh < d.OH; ++oh)
            for (int64_t ow0 = 0; ow0 < d.OW; ow0 += kTileRows) {
              const float* corner = padded.data() + g * d.Cg * P + oh * d.SH * S + ow0;
              tiles[std::min(kTileRows, d.OW - ow0) - 1](corner, offsets.data(), K, b, bias ? bias + o0 : nullptr,
                                                         y + (n * d.G * d.Og + o0) * L + oh * d.OW + ow0, L);
            }
        }
    }
  });
}

// Whether the direct kernels may run: float32 on the AVX-512 kernel, samples for every thread.
bool runs_direct(const Tensor& x, const Direct& d) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return x.dtype() == DType::Float32 && has_fast_sgemm() && (threads == 1 || d.N >= 2 * threads);
}

// Whether the direct path applies and pays: float32 on the AVX-512 kernel, samples for every
// thread, column stride 1, whole 16-channel panels, rows of at least one tile, enough depth.
bool direct_pays(const Tensor& x, const Direct& d) {
  return runs_direct(x, d) && d.SW == 1 && d.Og % 16 == 0 && d.OW >= kTileRows && d.depth() >= kMinDepth;
}

// The weight gradient: gW[o][k] = sum over samples and output positions q of gy[o][q] times the
// padded input at offsets[k] past q's corner. Its transpose is the same 32-channel register tile
// with the roles turned: the depth is the positions of a band of output rows, the rows are the
// KH KW taps of one input channel (broadcast from the padded input, a run of each row per
// output row), the columns a panel of 32 (or 16) output channels read from gy transposed
// (positions x channels) per band: 2 loads and KH KW broadcasts per 2 KH KW FMAs, no columns, gy
// read once per sample from memory and then from L1 by every input channel.
constexpr int64_t kBandBytes = int64_t{56} << 10;  // gy^T of one band: stays in L1 across the input channels

// acc[t * lda + j] += sum over the band's positions (r, ow) of a_t[r SH S + ow SW] gyt[(r OW + ow) ldg + j]
// for the taps t = (kh, kw) of one input channel, a_t = plane + kh DH S + kw DW, and 16 V channels j.
template <int KH, int KW, int V>
void grad_w_tile(const float* plane, const Direct& d, int64_t rows, const float* gyt, int64_t ldg, float* acc,
                 int64_t lda) {
  constexpr int kTaps = KH * KW;
  const int64_t S = d.padded_width();
  int64_t tap[kTaps];
  for (int kh = 0; kh < KH; ++kh)
    for (int kw = 0; kw < KW; ++kw) tap[kh * KW + kw] = kh * d.DH * S + kw * d.DW;
  __m512 sum[kTaps][V];
#pragma GCC unroll 9
  for (int t = 0; t < kTaps; ++t)
    for (int v = 0; v < V; ++v) sum[t][v] = _mm512_setzero_ps();
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = plane + r * d.SH * S;
    const float* g = gyt + r * d.OW * ldg;
    for (int64_t ow = 0; ow < d.OW; ++ow, a += d.SW, g += ldg) {
      __m512 gv[V];
      for (int v = 0; v < V; ++v) gv[v] = _mm512_loadu_ps(g + 16 * v);
#pragma GCC unroll 9
      for (int t = 0; t < kTaps; ++t) {
        const __m512 at = _mm512_set1_ps(a[tap[t]]);
        for (int v = 0; v < V; ++v) sum[t][v] = _mm512_fmadd_ps(at, gv[v], sum[t][v]);
      }
    }
  }
#pragma GCC unroll 9
  for (int t = 0; t < kTaps; ++t)
    for (int v = 0; v < V; ++v) {
      float* to = acc + t * lda + 16 * v;
      _mm512_storeu_ps(to, _mm512_add_ps(_mm512_loadu_ps(to), sum[t][v]));
    }
}

// out[(q - q0) C + c] = in[c L + q] for positions q in [q0, q1) and channels c < C (a multiple
// of 16): 16 x 16 blocks through registers.
void transpose_band(const float* in, int64_t C, int64_t L, int64_t q0, int64_t q1, float* out) {
  for (int64_t c0 = 0; c0 < C; c0 += 16)
    for (int64_t q = q0; q < q1; q += 16) {
      const int64_t n = std::min<int64_t>(16, q1 - q);
      const auto valid = static_cast<__mmask16>((1u << n) - 1);
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) r[i] = _mm512_maskz_loadu_ps(valid, in + (c0 + i) * L + q);
      transpose16(r);
      for (int64_t j = 0; j < n; ++j) _mm512_storeu_ps(out + (q - q0 + j) * C + c0, r[j]);
    }
}

// gW (G Og, Cg, 3, 3) of d's correlation of x giving gy. Sample n adds into partial n % 8 (its
// bands in order; each partial laid out (G, K, Og)), the partials are summed in order and
// transposed at the end: the result does not depend on the number of threads.
void run_grad_w(const Direct& d, const float* x, const float* gy, float* gW) {
  const int64_t K = d.depth(), S = d.padded_width(), P = d.padded_plane(), OC = d.G * d.Og;
  const int64_t L = d.OH * d.OW, w_numel = OC * K, partials = std::min<int64_t>(8, d.N);
  const int64_t band = std::clamp<int64_t>(kBandBytes / (d.OW * OC * 4), 1, d.OH);
  const auto tile = d.panel() == 32 ? &grad_w_tile<3, 3, 2> : &grad_w_tile<3, 3, 1>;
  const std::shared_ptr<float> acc_buffer = aligned_floats(partials * w_numel);
  float* acc = acc_buffer.get();
  parallel_for(partials, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> padded(d.padded_size(), 0.0f);
    const std::shared_ptr<float> gyt = aligned_floats(band * d.OW * OC);
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t n = p; n < d.N; n += partials) {
        pad_sample(d, x, n, padded.data());
        for (int64_t oh0 = 0; oh0 < d.OH; oh0 += band) {
          const int64_t rows = std::min(band, d.OH - oh0);
          transpose_band(gy + n * OC * L, OC, L, oh0 * d.OW, (oh0 + rows) * d.OW, gyt.get());
          for (int64_t g = 0; g < d.G; ++g)
            for (int64_t o = 0; o < d.Og; o += d.panel())
              for (int64_t c = 0; c < d.Cg; ++c)
                tile(padded.data() + (g * d.Cg + c) * P + oh0 * d.SH * S, d, rows, gyt.get() + g * d.Og + o, OC,
                     acc + p * w_numel + (g * K + c * 9) * d.Og + o, d.Og);
        }
      }
  });
  parallel_for(w_numel, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t p = 1; p < partials; ++p) acc[i] += acc[p * w_numel + i];
  });
  for (int64_t g = 0; g < d.G; ++g)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t o = 0; o < d.Og; ++o) gW[(g * d.Og + o) * K + k] = acc[(g * K + k) * d.Og + o];
}

}  // namespace

bool conv2d_direct(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                   Tensor& y) {
  const Direct d{g.N,  groups, g.C / groups, g.H,  g.W,  g.PH, g.PW,  g.KH,
                 g.KW, g.SH,   g.DH,         g.DW, W.size(0) / groups, g.OH, g.OW, g.SW};
  if (!direct_pays(x, d)) return false;
  // W (OC, Cg, KH, KW) is already (output channel, depth): panels of d.panel() output channels, k-major.
  const int64_t K = d.depth(), OC = W.size(0), P = d.panel();
  const std::shared_ptr<float> packed = aligned_floats(OC * K);
  const float* w = W.data<float>();
  for (int64_t o0 = 0; o0 < OC; o0 += P)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < P; ++j) packed.get()[o0 * K + k * P + j] = w[(o0 + j) * K + k];
  run(d, x.data<float>(), packed.get(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  return true;
}

bool deconv2d_direct(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                     Tensor& y) {
  // The image y (N, C, H, W) is the stride-1 correlation of the grid x (N, Cin, OH, OW), padded
  // by D (K - 1) - P, with W[ci, co, KH - 1 - kh, KW - 1 - kw] per group.
  const int64_t qh = g.DH * (g.KH - 1) - g.PH, qw = g.DW * (g.KW - 1) - g.PW;
  if (g.SH != 1 || qh < 0 || qw < 0 || g.H != g.OH + qh - g.PH || g.W != g.OW + qw - g.PW) return false;
  const int64_t Cin = x.size(1), Cg = Cin / groups, Og = g.C / groups;
  const Direct d{g.N, groups, Cg, g.OH, g.OW, qh, qw, g.KH, g.KW, 1, g.DH, g.DW, Og, g.H, g.W, g.SW};
  if (!direct_pays(x, d)) return false;
  const int64_t K = d.depth(), KK = g.KH * g.KW, P = d.panel();
  const std::shared_ptr<float> packed = aligned_floats(g.C * K);
  const float* w = W.data<float>();  // (Cin, Og, KH, KW)
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t o0 = gi * Og; o0 < (gi + 1) * Og; o0 += P)
      for (int64_t ci = 0; ci < Cg; ++ci)
        for (int64_t t = 0; t < KK; ++t)
          for (int64_t j = 0; j < P; ++j) {
            const int64_t k = ci * KK + t, co = o0 + j - gi * Og;
            packed.get()[o0 * K + k * P + j] = w[((gi * Cg + ci) * Og + co) * KK + (KK - 1 - t)];
          }
  run(d, x.data<float>(), packed.get(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  return true;
}

bool conv2d_grad_w_direct(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups, Tensor& gW) {
  const Direct d{g.N,  groups, g.C / groups, g.H,  g.W,  g.PH, g.PW,  g.KH,
                 g.KW, g.SH,   g.DH,         g.DW, gy.size(1) / groups, g.OH, g.OW, g.SW};
  if (!runs_direct(x, d) || g.KH != 3 || g.KW != 3 || d.Og % 16 != 0) return false;
  run_grad_w(d, x.data<float>(), gy.data<float>(), gW.data<float>());
  return true;
}

#else

bool conv2d_direct(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
  return false;
}

bool deconv2d_direct(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
  return false;
}

bool conv2d_grad_w_direct(const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) { return false; }

#endif

}  // namespace dezero::cpu
