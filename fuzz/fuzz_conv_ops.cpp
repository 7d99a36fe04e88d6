// Fuzzes the convolution, padding and pooling functions: the bytes decode into a conv2d /
// deconv2d / max_pool2d / avg_pool2d / pad2d configuration, legal or not, and small float64
// tensors. Invariants (a violation traps, so libFuzzer keeps the input):
//   - no crash, no sanitizer report, no exception other than dezero::Error;
//   - a configuration is refused with dezero::Error exactly when PyTorch's rules (and the two
//     documented differences: pooling windows wholly in the padding, max-pool padding up to half
//     the effective kernel) make it illegal, and never otherwise;
//   - the output shape is PyTorch's formula;
//   - values: conv2d equals the conv2d_simple reference (im2col + matmul) in value and in both
//     gradients; deconv2d is the adjoint of conv2d (<deconv(x), v> = <x, conv(v)>, conv(v) cropped
//     to x); pooling and pad2d equal direct loops; every backward runs.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include <dezero/dezero.h>

namespace F = dezero::functions;
using namespace dezero;

namespace {

// Reads small integers from the input, then zeros.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // A value in [lo, hi].
  int64_t in(int64_t lo, int64_t hi) {
    const uint8_t b = pos_ < size_ ? data_[pos_++] : 0;
    return lo + static_cast<int64_t>(b) % (hi - lo + 1);
  }
  bool flag() { return in(0, 1) == 1; }

 private:
  const uint8_t* data_;
  size_t size_, pos_ = 0;
};

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_conv_ops: %s\n", what);
  __builtin_trap();
}

// Mostly legal: usually in [lo, hi], sometimes one step outside (an illegal value).
int64_t param(Bytes& b, int64_t lo, int64_t hi) {
  const int64_t v = b.in(lo - 1, hi + 1);
  return v;
}

Tensor values(Bytes& b, const Shape& shape) {
  manual_seed(static_cast<uint64_t>(b.in(0, 255)));
  std::vector<double> v = Tensor::randn(shape, Float64).to_vector();
  const bool ties = b.in(0, 3) == 0, negative = b.in(0, 3) == 0;
  for (double& e : v) {
    if (ties) e = std::round(2 * e) / 2;
    if (negative) e = -std::fabs(e) - 1;
  }
  return Tensor::from_vector(v, shape, Float64);
}

double dot(const Tensor& a, const Tensor& b) { return ops::sum(ops::mul(a, b)).item(); }

double max_abs(const Tensor& t) { return t.numel() == 0 ? 0 : ops::max(ops::abs(t)).item(); }

void expect_close(const Tensor& a, const Tensor& b, const char* what) {
  if (a.shape() != b.shape()) finding(what);
  if (a.numel() == 0) return;
  const double err = max_abs(ops::sub(a, b)), scale = std::max(1.0, max_abs(b));
  if (!(err <= 1e-9 * scale)) finding(what);
}

int64_t pool_size(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil) {
  const int64_t span = n + 2 * p - d * (k - 1) - 1;
  if (!ceil) return span / s + 1;
  int64_t out = (span + s - 1) / s + 1;
  if ((out - 1) * s >= n + p) --out;
  return out;
}

bool windows_reach(int64_t out, int64_t n, int64_t k, int64_t s, int64_t p, int64_t d) {
  for (int64_t o = 0; o < out; ++o) {
    bool any = false;
    for (int64_t j = 0; j < k; ++j) any = any || (o * s - p + j * d >= 0 && o * s - p + j * d < n);
    if (!any) return false;
  }
  return true;
}

// Runs `body`; a dezero::Error must come exactly when `legal` is false.
template <class Fn>
void run(bool legal, Fn&& body) {
  bool threw = false;
  try {
    body();
  } catch (const Error&) {
    threw = true;
  } catch (...) {
    finding("an exception other than dezero::Error");
  }
  if (legal && threw) finding("a legal configuration was refused");
  if (!legal && !threw) finding("an illegal configuration was accepted");
}

F::PaddingMode mode_of(int64_t m) { return static_cast<F::PaddingMode>(m); }

void fuzz_conv(Bytes& b) {
  const int64_t N = b.in(0, 2), groups = param(b, 1, 3), C = b.in(1, 6), OC = b.in(1, 6);
  const int64_t H = b.in(1, 7), W = b.in(1, 7), KH = param(b, 1, 4), KW = param(b, 1, 4);
  const Pair s{param(b, 1, 3), param(b, 1, 3)}, p{param(b, 0, 3), param(b, 0, 3)}, d{param(b, 1, 3), param(b, 1, 3)};
  const int64_t mode = b.in(0, 3);
  const bool same = b.in(0, 4) == 0, bias = b.flag();
  const int64_t wc = groups >= 1 ? std::max<int64_t>(C / groups, 1) : 1;
  const int64_t wc_used = b.in(0, 7) == 0 ? wc + 1 : wc;  // sometimes a wrong weight shape
  bool legal = KH >= 1 && KW >= 1 && s.h >= 1 && s.w >= 1 && d.h >= 1 && d.w >= 1 && groups >= 1 &&
               C % groups == 0 && OC % groups == 0 && wc_used * groups == C;
  int64_t top = p.h, bottom = p.h, left = p.w, right = p.w;
  if (same) {
    legal = legal && s.h == 1 && s.w == 1;
    if (legal) {
      top = d.h * (KH - 1) / 2, bottom = d.h * (KH - 1) - top;
      left = d.w * (KW - 1) / 2, right = d.w * (KW - 1) - left;
    }
  } else {
    legal = legal && p.h >= 0 && p.w >= 0;
  }
  if (legal && mode == 1) legal = std::max(top, bottom) < H && std::max(left, right) < W;
  if (legal && mode == 3) legal = std::max(top, bottom) <= H && std::max(left, right) <= W;
  if (legal) legal = d.h * (KH - 1) + 1 <= H + top + bottom && d.w * (KW - 1) + 1 <= W + left + right;
  const Variable x(values(b, {N, C, H, W}));
  const Variable w(values(b, {OC, wc_used, std::max<int64_t>(KH, 1), std::max<int64_t>(KW, 1)}));
  const Variable bv = bias ? Variable(values(b, {OC})) : Variable();
  if (KH < 1 || KW < 1) {  // a zero-sized kernel cannot even be made into a weight here: fake one
    run(false, [&] { F::conv2d(x, Variable(Tensor::zeros({OC, wc_used, std::max<int64_t>(KH, 0), KW}, Float64))); });
    return;
  }
  const F::Conv2dOptions o{s, p, d, groups, mode_of(mode), same};
  if (std::getenv("FUZZ_CONV_OPS_VERBOSE"))
    std::fprintf(stderr, "conv2d x (%ld, %ld, %ld, %ld) w (%ld, %ld, %ld, %ld) stride (%ld, %ld) pad (%ld, %ld) "
                 "dilation (%ld, %ld) groups %ld mode %ld same %d bias %d legal %d\n", N, C, H, W, OC, wc_used, KH, KW,
                 s.h, s.w, p.h, p.w, d.h, d.w, groups, mode, same, bias, legal);
  run(legal, [&] {
    const Variable y = F::conv2d(x, w, bv, o);
    const int64_t OH = (H + top + bottom - d.h * (KH - 1) - 1) / s.h + 1;
    const int64_t OW = (W + left + right - d.w * (KW - 1) - 1) / s.w + 1;
    if (y.shape() != Shape({N, OC, OH, OW})) finding("conv2d: output shape is not PyTorch's");
    if (same && (OH != H || OW != W)) finding("conv2d: padding same changed the size");
    const Variable ref = F::conv2d_simple(x, w, bv, o);
    expect_close(y.data(), ref.data(), "conv2d differs from conv2d_simple");
    const Variable R(values(b, y.shape()));
    const auto g = dezero::grad({F::sum(y * R)}, {x, w});
    const auto gr = dezero::grad({F::sum(ref * R)}, {x, w});
    expect_close(g[0].data(), gr[0].data(), "conv2d: gx differs from conv2d_simple's");
    expect_close(g[1].data(), gr[1].data(), "conv2d: gW differs from conv2d_simple's");
  });
}

void fuzz_deconv(Bytes& b) {
  const int64_t N = b.in(0, 2), groups = param(b, 1, 3), C = b.in(1, 6), OCg = b.in(1, 3);
  const int64_t H = b.in(1, 5), W = b.in(1, 5), KH = b.in(1, 4), KW = b.in(1, 4);
  const Pair s{param(b, 1, 3), param(b, 1, 3)}, p{param(b, 0, 2), param(b, 0, 2)}, d{param(b, 1, 4), param(b, 1, 4)};
  const Pair op{param(b, 0, 3), param(b, 0, 3)};
  const int64_t cin = b.in(0, 7) == 0 ? C + 1 : C;  // sometimes a wrong weight shape
  bool legal = s.h >= 1 && s.w >= 1 && d.h >= 1 && d.w >= 1 && p.h >= 0 && p.w >= 0 && groups >= 1 &&
               C % groups == 0 && cin == C && op.h >= 0 && op.w >= 0 && op.h < std::max(s.h, d.h) &&
               op.w < std::max(s.w, d.w);
  const int64_t OH = (H - 1) * s.h - 2 * p.h + d.h * (KH - 1) + op.h + 1;
  const int64_t OW = (W - 1) * s.w - 2 * p.w + d.w * (KW - 1) + op.w + 1;
  legal = legal && OH >= 1 && OW >= 1;
  const int64_t OC = OCg * std::max<int64_t>(groups, 1);
  const Variable x(values(b, {N, C, H, W})), w(values(b, {cin, OCg, KH, KW}));
  const bool bias = b.flag();
  const Variable bv = bias ? Variable(values(b, {OC})) : Variable();
  run(legal, [&] {
    const Variable y = F::deconv2d(x, w, bv, {s, p, d, groups, op});
    if (y.shape() != Shape({N, OC, OH, OW})) finding("deconv2d: output shape is not PyTorch's");
    // Adjoint: <deconv(x, W), v> = <x, conv(v, W)[:, :, :H, :W]> (without bias).
    const Variable v(values(b, y.shape()));
    const Variable y0 = F::deconv2d(x, w, {}, {s, p, d, groups, op});
    const Variable back = F::conv2d(v, w, {}, {s, p, d, groups});
    if (back.size(2) < H || back.size(3) < W) finding("deconv2d: the conv of its output is smaller than x");
    const Variable cropped = F::get_item(back, {Slice{}, Slice{}, Slice{0, H}, Slice{0, W}});
    const double lhs = dot(y0.data(), v.data()), rhs = dot(x.data(), cropped.data());
    if (!(std::fabs(lhs - rhs) <= 1e-9 * std::max(1.0, std::fabs(lhs)) * (1 + y0.numel())))
      finding("deconv2d is not the adjoint of conv2d");
    dezero::grad({F::sum(y * v)}, {x, w});
  });
}

void fuzz_pool(Bytes& b, bool max_pool) {
  const int64_t N = b.in(0, 2), C = b.in(1, 3), H = b.in(1, 8), W = b.in(1, 8);
  const int64_t KH = param(b, 1, 4), KW = param(b, 1, 4);
  const Pair s{param(b, 1, 3), param(b, 1, 3)}, p{param(b, 0, 2), param(b, 0, 2)};
  const Pair d = max_pool ? Pair{param(b, 1, 3), param(b, 1, 3)} : Pair{b.in(0, 5) == 0 ? 2 : 1, 1};
  const bool ceil = b.flag(), include_pad = b.in(0, 3) != 0;
  const int64_t divisor = b.in(0, 3) == 0 ? b.in(-1, 5) : 0;
  bool legal = KH >= 1 && KW >= 1 && s.h >= 1 && s.w >= 1 && d.h >= 1 && d.w >= 1 && p.h >= 0 && p.w >= 0;
  const int64_t eh = d.h * (KH - 1) + 1, ew = d.w * (KW - 1) + 1;
  if (max_pool)
    legal = legal && include_pad && divisor == 0 && p.h <= eh / 2 && p.w <= ew / 2;
  else
    legal = legal && d == Pair(1) && p.h <= KH / 2 && p.w <= KW / 2;
  legal = legal && eh <= H + 2 * p.h && ew <= W + 2 * p.w;
  int64_t OH = 0, OW = 0;
  if (legal) {
    OH = pool_size(H, KH, s.h, p.h, d.h, ceil), OW = pool_size(W, KW, s.w, p.w, d.w, ceil);
    legal = windows_reach(OH, H, KH, s.h, p.h, d.h) && windows_reach(OW, W, KW, s.w, p.w, d.w);
  }
  F::Pool2dOptions o;
  o.stride = s, o.pad = p, o.dilation = d, o.ceil_mode = ceil, o.count_include_pad = include_pad;
  if (divisor != 0) o.divisor_override = divisor;
  const Tensor xt = values(b, {N, C, H, W});
  const Variable x(xt);
  run(legal, [&] {
    const Variable y = max_pool ? F::max_pool2d(x, {KH, KW}, o) : F::avg_pool2d(x, {KH, KW}, o);
    if (y.shape() != Shape({N, C, OH, OW})) finding("pooling: output shape is not PyTorch's");
    const std::vector<double> xv = xt.to_vector(), yv = y.data().to_vector();
    size_t i = 0;
    for (int64_t nc = 0; nc < N * C; ++nc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow, ++i) {
          double best = -std::numeric_limits<double>::infinity(), total = 0;
          const int64_t h0 = oh * s.h - p.h, w0 = ow * s.w - p.w;
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t ih = h0 + kh * d.h, iw = w0 + kw * d.w;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              best = std::max(best, xv[static_cast<size_t>((nc * H + ih) * W + iw)]);
              total += xv[static_cast<size_t>((nc * H + ih) * W + iw)];
            }
          double want = best;
          if (!max_pool) {
            const int64_t h1 = std::min(h0 + KH, H + p.h), w1 = std::min(w0 + KW, W + p.w);
            const int64_t inside = (std::min(h1, H) - std::max<int64_t>(h0, 0)) * (std::min(w1, W) - std::max<int64_t>(w0, 0));
            const double div = divisor != 0 ? static_cast<double>(divisor)
                                             : static_cast<double>(include_pad ? (h1 - h0) * (w1 - w0) : inside);
            want = total / div;
          }
          if (!(std::fabs(yv[i] - want) <= 1e-12 * std::max(1.0, std::fabs(want)))) finding("pooling value");
        }
    const auto g = dezero::grad({F::sum(y * y)}, {x}, true);
    dezero::grad({F::sum(g[0])}, {x}, false, true);
  });
}

void fuzz_pad(Bytes& b) {
  const int64_t N = b.in(0, 2), C = b.in(1, 2), H = b.in(1, 5), W = b.in(1, 5), mode = b.in(0, 3);
  const F::Padding2d p{param(b, 0, 5), param(b, 0, 5), param(b, 0, 5), param(b, 0, 5)};
  bool legal = p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0;
  if (mode == 1) legal = legal && std::max(p.top, p.bottom) < H && std::max(p.left, p.right) < W;
  if (mode == 3) legal = legal && std::max(p.top, p.bottom) <= H && std::max(p.left, p.right) <= W;
  const Tensor xt = values(b, {N, C, H, W});
  const Variable x(xt);
  run(legal, [&] {
    const Variable y = F::pad2d(x, p, mode_of(mode));
    const int64_t OH = H + p.top + p.bottom, OW = W + p.left + p.right;
    if (y.shape() != Shape({N, C, OH, OW})) finding("pad2d: output shape");
    const auto src = [&](int64_t i, int64_t n, int64_t before) -> int64_t {
      int64_t j = i - before;
      if (j >= 0 && j < n) return j;
      if (mode == 0) return -1;
      if (mode == 1) return j < 0 ? -j : 2 * (n - 1) - j;
      if (mode == 2) return j < 0 ? 0 : n - 1;
      return ((j % n) + n) % n;
    };
    const std::vector<double> xv = xt.to_vector(), yv = y.data().to_vector();
    size_t i = 0;
    for (int64_t nc = 0; nc < N * C; ++nc)
      for (int64_t r = 0; r < OH; ++r)
        for (int64_t c = 0; c < OW; ++c, ++i) {
          const int64_t sr = src(r, H, p.top), sc = src(c, W, p.left);
          const double want = sr < 0 || sc < 0 ? 0 : xv[static_cast<size_t>((nc * H + sr) * W + sc)];
          if (yv[i] != want) finding("pad2d value");
        }
    dezero::grad({F::sum(y * y)}, {x});
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    set_num_threads(2);
    return true;
  }();
  (void)quiet;
  Bytes b(data, size);
  switch (b.in(0, 4)) {
    case 0: fuzz_conv(b); break;
    case 1: fuzz_deconv(b); break;
    case 2: fuzz_pool(b, true); break;
    case 3: fuzz_pool(b, false); break;
    default: fuzz_pad(b); break;
  }
  return 0;
}
