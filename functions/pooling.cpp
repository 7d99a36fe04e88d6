// Pooling: max_pool2d (maxima and their positions in one pass; the backward scatters at them, so
// differentiable at any order), avg_pool2d (im2col then mean) and global_avg_pool2d.

#include <memory>

#include "core/function.h"
#include "functions/functions.h"
#include "functions/internal.h"

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
  const Pair stride = o.stride.value_or(kernel);
  const Conv2dGeometry g = conv2d_geometry(x.shape(), kernel, stride, o.pad, o.dilation, "max_pool2d");
  DZ_CHECK(o.pad.h <= (g.DH * (g.KH - 1) + 1) / 2 && o.pad.w <= (g.DW * (g.KW - 1) + 1) / 2,
           "max_pool2d: pad ({}, {}) must be at most half the effective kernel ({}, {}) for x {}", o.pad.h,
           o.pad.w, g.DH * (g.KH - 1) + 1, g.DW * (g.KW - 1) + 1, to_string(x.shape()));
  return call<MaxPool2d>(x, g);
}

Variable avg_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& o) {
  DZ_CHECK(o.dilation == Pair(1), "avg_pool2d: dilation is not supported (PyTorch has none); got ({}, {})",
           o.dilation.h, o.dilation.w);
  const Pair stride = o.stride.value_or(kernel);
  const Conv2dGeometry g = conv2d_geometry(x.shape(), kernel, stride, o.pad, 1, "avg_pool2d");
  DZ_CHECK(o.pad.h <= g.KH / 2 && o.pad.w <= g.KW / 2,
           "avg_pool2d: pad ({}, {}) must be at most half the kernel ({}, {}) for x {}", o.pad.h, o.pad.w,
           g.KH, g.KW, to_string(x.shape()));
  const Variable col = im2col(x, kernel, {stride, o.pad, 1});
  return reshape(mean(reshape(col, {g.N, g.C, g.KH * g.KW, g.OH, g.OW}), {2}), {g.N, g.C, g.OH, g.OW});
}

Variable global_avg_pool2d(const Variable& x) {
  DZ_CHECK(x.ndim() == 4, "global_avg_pool2d: x must be (N, C, H, W); got {}", to_string(x.shape()));
  return mean(x, {2, 3}, true);
}

}  // namespace dezero::functions
