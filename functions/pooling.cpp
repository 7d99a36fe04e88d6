// Pooling: max_pool2d (maxima and their positions in one pass; the backward scatters at them, so
// differentiable at any order), avg_pool2d (im2col then mean) and global_avg_pool2d.

#include <memory>

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"
#include "dezero/functions/internal.h"

namespace dezero::functions {
namespace {

// y = the maximum of each window    gx = gy scatter-added at the maxima' positions, a GetItemGrad
// (whose backward is a gather there again): every order of derivative exists. The forward finds
// the positions and the values in one pass.
class MaxPool2d final : public Function {
 public:
  explicit MaxPool2d(Conv2dGeometry g) : g_(g) {}
  std::string name() const override { return "max_pool2d"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    auto index = std::make_shared<ResolvedIndex>();
    Tensor y = ops::max_pool2d(xs[0], g_, *index);
    index_ = std::move(index);
    return {y};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {detail::scatter_add(gys[0], index_)};
  }

 private:
  Conv2dGeometry g_;
  std::shared_ptr<const ResolvedIndex> index_;
};

}  // namespace

Variable max_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& o) {
  DZ_CHECK(!o.divisor_override && o.count_include_pad,
           "max_pool2d: count_include_pad and divisor_override are avg_pool2d options");
  const Pair stride = o.stride.value_or(kernel);
  const Conv2dGeometry g = pool2d_geometry(x.shape(), kernel, stride, o.pad, o.dilation, o.ceil_mode, "max_pool2d");
  DZ_CHECK(o.pad.h <= (g.DH * (g.KH - 1) + 1) / 2 && o.pad.w <= (g.DW * (g.KW - 1) + 1) / 2,
           "max_pool2d: pad ({}, {}) must be at most half the effective kernel ({}, {}) for x {}", o.pad.h,
           o.pad.w, g.DH * (g.KH - 1) + 1, g.DW * (g.KW - 1) + 1, to_string(x.shape()));
  return call<MaxPool2d>(x, g);  // ops::max_pool2d refuses windows wholly in the padding
}

namespace {

// PyTorch's divisors along one axis: the window [o s - p, o s - p + k) clipped to the padded
// input (count_include_pad) or to the input itself.
std::vector<double> window_counts(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                                  bool include_pad) {
  std::vector<double> counts(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad, end = std::min(start + kernel, size + pad);
    counts[static_cast<size_t>(o)] = static_cast<double>(
        include_pad ? end - start : std::min(end, size) - std::max<int64_t>(start, 0));
  }
  return counts;
}

}  // namespace

Variable avg_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& o) {
  DZ_CHECK(o.dilation == Pair(1), "avg_pool2d: dilation is not supported (PyTorch has none); got ({}, {})",
           o.dilation.h, o.dilation.w);
  DZ_CHECK(!o.divisor_override || *o.divisor_override != 0, "avg_pool2d: divisor_override must not be zero");
  const Pair stride = o.stride.value_or(kernel);
  const Conv2dGeometry g = pool2d_geometry(x.shape(), kernel, stride, o.pad, 1, o.ceil_mode, "avg_pool2d");
  DZ_CHECK(o.pad.h <= g.KH / 2 && o.pad.w <= g.KW / 2,
           "avg_pool2d: pad ({}, {}) must be at most half the kernel ({}, {}) for x {}", o.pad.h, o.pad.w,
           g.KH, g.KW, to_string(x.shape()));
  check_windows_reach_input(g, "avg_pool2d");
  const Variable col = reshape(detail::im2col(x, g), {g.N, g.C, g.KH * g.KW, g.OH, g.OW});
  const auto rows = window_counts(g.OH, g.H, g.KH, g.SH, g.PH, o.count_include_pad);
  const auto cols = window_counts(g.OW, g.W, g.KW, g.SW, g.PW, o.count_include_pad);
  std::vector<double> divisor(static_cast<size_t>(g.OH * g.OW));
  bool uniform = true;
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < cols.size(); ++j) {
      double& d = divisor[i * cols.size() + j];
      d = o.divisor_override ? static_cast<double>(*o.divisor_override) : rows[i] * cols[j];
      uniform = uniform && d == static_cast<double>(g.KH * g.KW);
    }
  if (uniform) return reshape(mean(col, {2}), {g.N, g.C, g.OH, g.OW});
  const Tensor d = Tensor::from_vector(divisor, {1, 1, g.OH, g.OW}, x.data().dtype()).to(x.data().device());
  return reshape(sum(col, {2}), {g.N, g.C, g.OH, g.OW}) / Variable(d);
}

Variable global_avg_pool2d(const Variable& x) {
  DZ_CHECK(x.ndim() == 4, "global_avg_pool2d: x must be (N, C, H, W); got {}", to_string(x.shape()));
  return mean(x, {2, 3}, true);
}

}  // namespace dezero::functions
