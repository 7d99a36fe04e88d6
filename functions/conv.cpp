// Convolution: Im2col and Col2im (each the other's backward), the fused Conv2d with its
// weight gradient Conv2dGradW, Deconv2d (transposed conv), and conv2d_simple.

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"
#include "dezero/functions/internal.h"

namespace dezero::functions {
namespace {

Variable conv_call(const Variable& x, const Variable& W, const Conv2dGeometry& g, int64_t groups);
Variable deconv_call(const Variable& x, const Variable& W, const Conv2dGeometry& g, int64_t groups);

// col = im2col(x)    gx = col2im(gcol)
class Im2col final : public Function {
 public:
  explicit Im2col(Conv2dGeometry g) : g_(g) {}
  std::string name() const override { return "im2col"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::im2col(xs[0], g_)}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override;

 private:
  Conv2dGeometry g_;
};

// x = col2im(col)    gcol = im2col(gx)
class Col2im final : public Function {
 public:
  explicit Col2im(Conv2dGeometry g) : g_(g) {}
  std::string name() const override { return "col2im"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::col2im(xs[0], g_)}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {call<Im2col>(gys[0], g_)};
  }

 private:
  Conv2dGeometry g_;
};

std::vector<Variable> Im2col::backward(const std::vector<Variable>& gys) {
  return {call<Col2im>(gys[0], g_)};
}

// gW = conv2d_grad_w(x, gy), bilinear in x and gy:  gx = deconv2d(gy, ggW),  ggy = conv2d(x, ggW)
class Conv2dGradW final : public Function {
 public:
  Conv2dGradW(Conv2dGeometry g, int64_t groups, int64_t out_channels)
      : g_(g), groups_(groups), out_channels_(out_channels) {}
  std::string name() const override { return "conv2d_grad_w"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::conv2d_grad_w(xs[0], xs[1], g_, groups_, out_channels_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &x = input(0), &gy = input(1), &ggW = gys[0];
    return {x.requires_grad() ? deconv_call(gy, ggW, g_, groups_) : Variable(),
            gy.requires_grad() ? conv_call(x, ggW, g_, groups_) : Variable()};
  }

 private:
  Conv2dGeometry g_;
  int64_t groups_, out_channels_;
};

// y = conv2d(x, W) + b    gx = deconv2d(gy, W),  gW = conv2d_grad_w(x, gy),  gb = sum(gy, (0, 2, 3))
class Conv2d final : public Function {
 public:
  Conv2d(Conv2dGeometry g, int64_t groups) : g_(g), groups_(groups) {}
  std::string name() const override { return "conv2d"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::conv2d(xs[0], xs[1], xs.size() > 2 ? xs[2] : Tensor(), g_, groups_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &x = input(0), &W = input(1), &gy = gys[0];
    std::vector<Variable> gxs = {
        x.requires_grad() ? deconv_call(gy, W, g_, groups_) : Variable(),
        W.requires_grad() ? call<Conv2dGradW>({x, gy}, g_, groups_, W.size(0)) : Variable()};
    if (inputs().size() > 2) gxs.push_back(sum(gy, {0, 2, 3}));
    return gxs;
  }

 private:
  Conv2dGeometry g_;
  int64_t groups_;
};

// y = deconv2d(x, W) + b, the adjoint of conv2d in x for the geometry g (image = y, grid = x):
// gx = conv2d(gy, W),  gW = conv2d_grad_w(gy, x),  gb = sum(gy, (0, 2, 3))
class Deconv2d final : public Function {
 public:
  Deconv2d(Conv2dGeometry g, int64_t groups) : g_(g), groups_(groups) {}
  std::string name() const override { return "deconv2d"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::deconv2d(xs[0], xs[1], xs.size() > 2 ? xs[2] : Tensor(), g_, groups_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &x = input(0), &W = input(1), &gy = gys[0];
    std::vector<Variable> gxs = {
        x.requires_grad() ? conv_call(gy, W, g_, groups_) : Variable(),
        W.requires_grad() ? call<Conv2dGradW>({gy, x}, g_, groups_, W.size(0)) : Variable()};
    if (inputs().size() > 2) gxs.push_back(sum(gy, {0, 2, 3}));
    return gxs;
  }

 private:
  Conv2dGeometry g_;
  int64_t groups_;
};

Variable conv_call(const Variable& x, const Variable& W, const Conv2dGeometry& g, int64_t groups) {
  return call<Conv2d>({x, W}, g, groups);
}

Variable deconv_call(const Variable& x, const Variable& W, const Conv2dGeometry& g, int64_t groups) {
  return call<Deconv2d>({x, W}, g, groups);
}

Conv2dGeometry conv_geometry(const Variable& x, const Variable& W, const Conv2dOptions& o, const char* op) {
  DZ_CHECK(W.ndim() == 4, "{}: weight must be (OC, C/groups, KH, KW); got {}", op, to_string(W.shape()));
  DZ_CHECK(o.groups >= 1, "{}: groups must be positive; got {}", op, o.groups);
  const Conv2dGeometry g = conv2d_geometry(x.shape(), {W.size(2), W.size(3)}, o.stride, o.pad, o.dilation, op);
  DZ_CHECK(g.C % o.groups == 0 && W.size(0) % o.groups == 0,
           "{}: channels of x {} and weight {} must be divisible by groups {}", op, to_string(x.shape()),
           to_string(W.shape()), o.groups);
  DZ_CHECK(W.size(1) * o.groups == g.C, "{}: weight {} expects {} input channels with groups {}; x is {}",
           op, to_string(W.shape()), W.size(1) * o.groups, o.groups, to_string(x.shape()));
  return g;
}

// padding_mode and padding "same" as an explicit pad2d of x, leaving a conv with zero padding in
// `inner`; symmetric zero padding stays in the conv itself (no copy of x).
Variable padded_input(const Variable& x, const Variable& W, const Conv2dOptions& o, Conv2dOptions& inner,
                      const char* op) {
  DZ_CHECK(x.ndim() == 4, "{}: x must be (N, C, H, W); got {}", op, to_string(x.shape()));
  DZ_CHECK(W.ndim() == 4, "{}: weight must be (OC, C/groups, KH, KW); got {}", op, to_string(W.shape()));
  inner = o;
  inner.same = false;
  inner.padding_mode = PaddingMode::Zeros;
  Padding2d p{o.pad.h, o.pad.h, o.pad.w, o.pad.w};
  if (o.same) {
    DZ_CHECK(o.stride == Pair(1), "{}: padding \"same\" needs stride 1; got ({}, {}) for x {}", op, o.stride.h,
             o.stride.w, to_string(x.shape()));
    DZ_CHECK(o.dilation.h >= 1 && o.dilation.w >= 1, "{}: dilation must be positive; got ({}, {})", op,
             o.dilation.h, o.dilation.w);
    const int64_t th = o.dilation.h * (W.size(2) - 1), tw = o.dilation.w * (W.size(3) - 1);
    p = {th / 2, th - th / 2, tw / 2, tw - tw / 2};
  }
  DZ_CHECK(p.top >= 0 && p.left >= 0, "{}: pad must be non-negative; got ({}, {})", op, o.pad.h, o.pad.w);
  inner.pad = {p.top, p.left};
  if (o.padding_mode == PaddingMode::Zeros && p.top == p.bottom && p.left == p.right) return x;
  inner.pad = 0;
  return pad2d(x, p, o.padding_mode);
}

std::vector<Variable> with_bias(const Variable& x, const Variable& W, const Variable& b, int64_t out_channels,
                                const char* op) {
  if (!b.defined()) return {x, W};
  DZ_CHECK(b.ndim() == 1 && b.size(0) == out_channels, "{}: bias must be ({},) for weight {}; got {}", op,
           out_channels, to_string(W.shape()), to_string(b.shape()));
  return {x, W, b};
}

}  // namespace

Variable detail::im2col(const Variable& x, const Conv2dGeometry& g) { return call<Im2col>(x, g); }

Variable im2col(const Variable& x, Pair kernel, const Im2colOptions& o) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), kernel, o.stride, o.pad, o.dilation, "im2col");
  const Variable col = call<Im2col>(x, g);
  if (!o.to_matrix) return col;
  return reshape(transpose(col, {0, 2, 1}), {g.N * g.col_cols(), g.col_rows()});
}

Variable col2im(const Variable& col, const Shape& input_shape, Pair kernel, const Im2colOptions& o) {
  const Conv2dGeometry g = conv2d_geometry(input_shape, kernel, o.stride, o.pad, o.dilation, "col2im");
  const Shape want = o.to_matrix ? Shape{g.N * g.col_cols(), g.col_rows()} : Shape{g.N, g.col_rows(), g.col_cols()};
  DZ_CHECK(col.shape() == want, "col2im: columns {} do not match {} for input {}", to_string(col.shape()),
           to_string(want), to_string(input_shape));
  const Variable c = o.to_matrix ? transpose(reshape(col, {g.N, g.col_cols(), g.col_rows()}), {0, 2, 1}) : col;
  return call<Col2im>(c, g);
}

Variable conv2d(const Variable& x_in, const Variable& W, const Variable& b, const Conv2dOptions& options) {
  Conv2dOptions o;
  const Variable x = padded_input(x_in, W, options, o, "conv2d");
  const Conv2dGeometry g = conv_geometry(x, W, o, "conv2d");
  return call<Conv2d>(with_bias(x, W, b, W.size(0), "conv2d"), g, o.groups);
}

Variable conv2d_simple(const Variable& x_in, const Variable& W, const Variable& b, const Conv2dOptions& options) {
  Conv2dOptions o;
  const Variable x = padded_input(x_in, W, options, o, "conv2d_simple");
  const Conv2dGeometry g = conv_geometry(x, W, o, "conv2d_simple");
  const int64_t G = o.groups, OC = W.size(0), K = g.col_rows() / G, L = g.col_cols();
  const Variable col = im2col(x, {g.KH, g.KW}, {o.stride, o.pad, o.dilation});
  // (1, G, OC/G, K) @ (N, G, K, L) -> (N, G, OC/G, L): group g of every sample in one matmul.
  const Variable y = matmul(reshape(W, {1, G, OC / G, K}), reshape(col, {g.N, G, K, L}));
  const Variable out = reshape(y, {g.N, OC, g.OH, g.OW});
  if (!b.defined()) return out;
  with_bias(x, W, b, OC, "conv2d_simple");
  return out + reshape(b, {1, OC, 1, 1});
}

Variable deconv2d(const Variable& x, const Variable& W, const Variable& b, const Deconv2dOptions& o) {
  DZ_CHECK(x.ndim() == 4, "deconv2d: x must be (N, C, H, W); got {}", to_string(x.shape()));
  DZ_CHECK(W.ndim() == 4 && o.groups >= 1 && x.size(1) % o.groups == 0 && W.size(0) == x.size(1),
           "deconv2d: weight must be ({}, OC/groups, KH, KW) for x {} with groups {}; got {}", x.size(1),
           to_string(x.shape()), o.groups, to_string(W.shape()));
  const int64_t OC = W.size(1) * o.groups, KH = W.size(2), KW = W.size(3);
  DZ_CHECK(o.stride.h >= 1 && o.stride.w >= 1 && o.dilation.h >= 1 && o.dilation.w >= 1,
           "deconv2d: stride and dilation must be positive; got ({}, {}) and ({}, {})", o.stride.h, o.stride.w,
           o.dilation.h, o.dilation.w);
  Pair op = o.output_padding;
  if (o.outsize) {
    op = {o.outsize->h - deconv_output_size(x.size(2), KH, o.stride.h, o.pad.h, o.dilation.h, 0),
          o.outsize->w - deconv_output_size(x.size(3), KW, o.stride.w, o.pad.w, o.dilation.w, 0)};
  }
  DZ_CHECK(op.h >= 0 && op.w >= 0 && op.h < std::max(o.stride.h, o.dilation.h) &&
               op.w < std::max(o.stride.w, o.dilation.w),
           "deconv2d: output padding ({}, {}) must be in [0, max(stride, dilation)) for x {} (or outsize is "
           "unreachable)", op.h, op.w, to_string(x.shape()));
  // PyTorch's output is the full transposed convolution cropped by pad at the top and left and by
  // pad - output_padding at the bottom and right. As the adjoint of the conv of that output size,
  // the grid it maps back to has q = output_padding / stride more rows (and columns) than x:
  // those are appended to x as zeros (their backward drops them), and the remainder
  // output_padding - q stride (< stride) is absorbed by the conv geometry's rounding.
  const int64_t H = deconv_output_size(x.size(2), KH, o.stride.h, o.pad.h, o.dilation.h, op.h);
  const int64_t Wd = deconv_output_size(x.size(3), KW, o.stride.w, o.pad.w, o.dilation.w, op.w);
  DZ_CHECK(H >= 1 && Wd >= 1, "deconv2d: output size ({}, {}) is empty for x {} and weight {}", H, Wd,
           to_string(x.shape()), to_string(W.shape()));
  const Conv2dGeometry g = conv2d_geometry({x.size(0), OC, H, Wd}, {KH, KW}, o.stride, o.pad, o.dilation, "deconv2d");
  const Pair extra{op.h / o.stride.h, op.w / o.stride.w};
  DZ_ASSERT(g.OH == x.size(2) + extra.h && g.OW == x.size(3) + extra.w, "deconv2d: geometry mismatch");
  Variable grid = x;
  const DType dtype = x.data().dtype();
  const Device device = x.data().device();
  if (extra.h > 0) grid = concat({grid, Variable(Tensor::zeros({g.N, x.size(1), extra.h, x.size(3)}, dtype, device))}, 2);
  if (extra.w > 0) grid = concat({grid, Variable(Tensor::zeros({g.N, x.size(1), g.OH, extra.w}, dtype, device))}, 3);
  return call<Deconv2d>(with_bias(grid, W, b, OC, "deconv2d"), g, o.groups);
}

}  // namespace dezero::functions
