#include "dezero/layers/basic.h"

#include <cmath>

#include "dezero/core/config.h"
#include "dezero/core/error.h"

namespace dezero::layers {
namespace {

std::string pair_text(Pair p) { return fmt::format("({}, {})", p.h, p.w); }

// The argument checks shared by Conv2d and Deconv2d.
void check_conv_args(const char* op, int64_t out_channels, Pair kernel, int64_t groups) {
  DZ_CHECK(
      out_channels >= 1 && kernel.h >= 1 && kernel.w >= 1 && groups >= 1 &&
          out_channels % groups == 0,
      "{}: need positive out_channels ({}), kernel ({}, {}) and groups ({}) dividing out_channels",
      op, out_channels, kernel.h, kernel.w, groups);
}

void check_in_channels(const char* op, int64_t in_channels, int64_t groups) {
  DZ_CHECK(in_channels % groups == 0, "{}: input channels {} are not divisible by groups {}", op,
           in_channels, groups);
}

}  // namespace

// ---- WeightLayer ----

WeightLayer::WeightLayer(bool bias) {
  W = register_parameter("W", Parameter::uninitialized("W"));
  if (bias) b = register_parameter("b", Parameter::uninitialized("b"));
}

void WeightLayer::ensure_weight(const Variable& x, int64_t in) {
  if (W.initialized()) return;
  init_weight(in, x.dtype());
  if (x.device() != Device::CPU) to(x.device());
}

void WeightLayer::init_uniform(const Shape& w_shape, int64_t bias_size, int64_t fan_in,
                               DType dtype) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
  W.set_data(Tensor::uniform(w_shape, -bound, bound, dtype));
  if (b.defined()) b.set_data(Tensor::uniform({bias_size}, -bound, bound, dtype));
}

// ---- Linear ----

Linear::Linear(int64_t out_size, LinearOptions options)
    : WeightLayer(options.bias), out_size_(out_size), opt_(options) {
  DZ_CHECK(out_size >= 1, "Linear: out_size must be positive; got {}", out_size);
  if (opt_.in_size > 0) init_weight(opt_.in_size, opt_.dtype);
}

void Linear::init_weight(int64_t in_size, DType dtype) {
  init_uniform({in_size, out_size_}, out_size_, in_size, dtype);
}

Variable Linear::forward(const Variable& x) {
  DZ_CHECK(x.ndim() >= 1, "Linear: input must have a feature dimension; got {}",
           to_string(x.shape()));
  ensure_weight(x, x.size(-1));
  return functions::linear(x, W, b);
}

std::string Linear::name() const {
  return fmt::format("Linear({} -> {}{})", W.initialized() ? std::to_string(W.size(0)) : "?",
                     out_size_, opt_.bias ? "" : ", bias=false");
}

// ---- Conv2d ----

Conv2d::Conv2d(int64_t out_channels, Pair kernel, Conv2dOptions options)
    : WeightLayer(options.bias), out_channels_(out_channels), kernel_(kernel), opt_(options) {
  check_conv_args("Conv2d", out_channels, kernel, options.groups);
  if (opt_.in_channels > 0) init_weight(opt_.in_channels, opt_.dtype);
}

void Conv2d::init_weight(int64_t in_channels, DType dtype) {
  check_in_channels("Conv2d", in_channels, opt_.groups);
  const int64_t per_group = in_channels / opt_.groups;
  init_uniform({out_channels_, per_group, kernel_.h, kernel_.w}, out_channels_,
               per_group * kernel_.h * kernel_.w, dtype);
}

Variable Conv2d::forward(const Variable& x) {
  DZ_CHECK(x.ndim() == 4, "Conv2d: x must be (N, C, H, W); got {}", to_string(x.shape()));
  ensure_weight(x, x.size(1));
  return functions::conv2d(
      x, W, b, {opt_.stride, opt_.pad, opt_.dilation, opt_.groups, opt_.padding_mode, opt_.same});
}

std::string Conv2d::name() const {
  static constexpr const char* kModes[] = {"zeros", "reflect", "replicate", "circular"};
  return fmt::format(
      "Conv2d({} -> {}, kernel={}, stride={}, pad={}{}{}{})",
      W.initialized() ? std::to_string(W.size(1) * opt_.groups) : "?", out_channels_,
      pair_text(kernel_), pair_text(opt_.stride), opt_.same ? "same" : pair_text(opt_.pad),
      opt_.groups > 1 ? fmt::format(", groups={}", opt_.groups) : "",
      opt_.dilation == Pair(1) ? "" : ", dilation=" + pair_text(opt_.dilation),
      opt_.padding_mode == functions::PaddingMode::Zeros
          ? ""
          : fmt::format(", padding_mode={}", kModes[static_cast<int>(opt_.padding_mode)]));
}

// ---- Deconv2d ----

Deconv2d::Deconv2d(int64_t out_channels, Pair kernel, Deconv2dOptions options)
    : WeightLayer(options.bias), out_channels_(out_channels), kernel_(kernel), opt_(options) {
  check_conv_args("Deconv2d", out_channels, kernel, options.groups);
  if (opt_.in_channels > 0) init_weight(opt_.in_channels, opt_.dtype);
}

void Deconv2d::init_weight(int64_t in_channels, DType dtype) {
  check_in_channels("Deconv2d", in_channels, opt_.groups);
  // PyTorch's fan_in of a transposed conv weight (C, OC/groups, KH, KW): OC/groups * KH * KW.
  const int64_t per_group = out_channels_ / opt_.groups;
  init_uniform({in_channels, per_group, kernel_.h, kernel_.w}, out_channels_,
               per_group * kernel_.h * kernel_.w, dtype);
}

Variable Deconv2d::forward(const Variable& x) {
  DZ_CHECK(x.ndim() == 4, "Deconv2d: x must be (N, C, H, W); got {}", to_string(x.shape()));
  ensure_weight(x, x.size(1));
  return functions::deconv2d(
      x, W, b, {opt_.stride, opt_.pad, opt_.dilation, opt_.groups, opt_.output_padding});
}

std::string Deconv2d::name() const {
  return fmt::format("Deconv2d({} -> {}, kernel={}, stride={}, pad={}{})",
                     W.initialized() ? std::to_string(W.size(0)) : "?", out_channels_,
                     pair_text(kernel_), pair_text(opt_.stride), pair_text(opt_.pad),
                     opt_.groups > 1 ? fmt::format(", groups={}", opt_.groups) : "");
}

// ---- BatchNorm ----

BatchNorm::BatchNorm(BatchNormOptions options) : opt_(options) {
  gamma = register_parameter("gamma", Parameter::uninitialized("gamma"));
  beta = register_parameter("beta", Parameter::uninitialized("beta"));
  mean_ = register_buffer("running_mean");
  var_ = register_buffer("running_var");
}

Variable BatchNorm::forward(const Variable& x) {
  DZ_CHECK(x.ndim() == 2 || x.ndim() == 4, "BatchNorm: x must be (N, C) or (N, C, H, W); got {}",
           to_string(x.shape()));
  if (!gamma.initialized()) {
    const int64_t C = x.size(1);
    gamma.set_data(Tensor::ones({C}, x.dtype(), x.device()));
    beta.set_data(Tensor::zeros({C}, x.dtype(), x.device()));
  }
  if (!mean_->defined()) {
    *mean_ = Tensor::zeros({x.size(1)}, x.dtype(), x.device());
    *var_ = Tensor::ones({x.size(1)}, x.dtype(), x.device());
  }
  if (training())
    return functions::batch_norm(x, gamma, beta, *mean_, *var_, {opt_.decay, opt_.eps});
  TestModeGuard test;
  return functions::batch_norm(x, gamma, beta, *mean_, *var_, {opt_.decay, opt_.eps});
}

std::string BatchNorm::name() const {
  return fmt::format("BatchNorm({})", gamma.initialized() ? std::to_string(gamma.size(0)) : "?");
}

// ---- Dropout, pooling, activations ----

Dropout::Dropout(double ratio) : ratio_(ratio) {
  DZ_CHECK(ratio >= 0 && ratio < 1, "Dropout: ratio must be in [0, 1); got {}", ratio);
}

Variable Dropout::forward(const Variable& x) {
  return training() ? functions::dropout(x, ratio_) : x;
}

std::string Dropout::name() const { return fmt::format("Dropout({})", ratio_); }

MaxPool2d::MaxPool2d(Pair kernel, functions::Pool2dOptions options)
    : kernel_(kernel), opt_(options) {}

Variable MaxPool2d::forward(const Variable& x) { return functions::max_pool2d(x, kernel_, opt_); }

std::string MaxPool2d::name() const { return fmt::format("MaxPool2d({})", pair_text(kernel_)); }

AvgPool2d::AvgPool2d(Pair kernel, functions::Pool2dOptions options)
    : kernel_(kernel), opt_(options) {}

Variable AvgPool2d::forward(const Variable& x) { return functions::avg_pool2d(x, kernel_, opt_); }

std::string AvgPool2d::name() const { return fmt::format("AvgPool2d({})", pair_text(kernel_)); }

std::string LeakyReLU::name() const { return fmt::format("LeakyReLU({})", slope_); }

}  // namespace dezero::layers
