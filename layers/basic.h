#pragma once
// The standard layers. Input sizes are inferred on the first forward when not given (DeZero's
// lazy Linear(out)); weights start as PyTorch's defaults (Kaiming-uniform, bound 1/sqrt(fan_in))
// drawn from the generator seeded by dezero::manual_seed.

#include <cstdint>
#include <optional>
#include <string>

#include "dezero/functions/functions.h"
#include "dezero/layers/layer.h"

namespace dezero::layers {

/// A layer with a weight W and an optional bias b whose sizes may wait for the first input
/// (DeZero's lazy Linear(out)): the one place that registers them, sizes them on the input's
/// device, and draws PyTorch's default initialization.
class WeightLayer : public Layer {
 public:
  ///@{
  /// The weight and the bias (b undefined without a bias); uninitialized until sized.
  Parameter W, b;
  ///@}

 protected:
  /// Registers W and, when bias, b, both uninitialized.
  explicit WeightLayer(bool bias);
  /// Sizes W and b for `in` input features or channels (on the CPU).
  virtual void init_weight(int64_t in, DType dtype) = 0;
  /// On the first call, init_weight(in, x's dtype) and moves the weights to x's device.
  void ensure_weight(const Variable& x, int64_t in);
  /// W (w_shape) and b (bias_size) uniform in +-1/sqrt(fan_in), as PyTorch's defaults.
  void init_uniform(const Shape& w_shape, int64_t bias_size, int64_t fan_in, DType dtype);
};

/// Options of Linear.
struct LinearOptions {
  int64_t in_size = 0;  ///< 0: inferred from the first input
  /// Add a bias b (O).
  bool bias = true;
  /// Element type of W and b.
  DType dtype = Float32;
};
/// y = x W + b.  x (N, I), W (I, O) (DeZero's layout), b (O).
class Linear : public WeightLayer {
 public:
  /// out_size outputs; the input size comes from options.in_size or the first input.
  explicit Linear(int64_t out_size, LinearOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  void init_weight(int64_t in_size, DType dtype) override;
  int64_t out_size_;
  LinearOptions opt_;
};

/// Options of Conv2d.
struct Conv2dOptions {
  /// Step between windows.
  Pair stride = 1;
  /// Rows/columns added on each side (filled as padding_mode says).
  Pair pad = 0;
  /// Spacing of a window's taps.
  Pair dilation = 1;
  /// Channel groups: the input and output channels must be multiples of it.
  int64_t groups = 1;
  functions::PaddingMode padding_mode = functions::PaddingMode::Zeros;  ///< how the pad is filled
  bool same = false;  ///< padding "same" (stride 1): the output keeps the input's size
  /// Add a bias b (OC).
  bool bias = true;
  int64_t in_channels = 0;  ///< 0: inferred from the first input
  /// Element type of W and b.
  DType dtype = Float32;
};
/// 2-d convolution.  x (N, C, H, W) -> (N, out_channels, OH, OW); W (OC, C/groups, KH, KW).
class Conv2d : public WeightLayer {
 public:
  /// out_channels filters of size kernel; input channels from options or the first input.
  Conv2d(int64_t out_channels, Pair kernel, Conv2dOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  void init_weight(int64_t in_channels, DType dtype) override;
  int64_t out_channels_;
  Pair kernel_;
  Conv2dOptions opt_;
};

/// Options of Deconv2d.
struct Deconv2dOptions {
  /// Stride of the convolution this one transposes.
  Pair stride = 1;
  /// Padding of the convolution this one transposes (removed from the output).
  Pair pad = 0;
  /// Spacing of a window's taps.
  Pair dilation = 1;
  /// Channel groups: the input and output channels must be multiples of it.
  int64_t groups = 1;
  /// Extra rows/columns at the bottom/right of the output, < max(stride, dilation).
  Pair output_padding = 0;
  /// Add a bias b (OC).
  bool bias = true;
  int64_t in_channels = 0;  ///< 0: inferred from the first input
  /// Element type of W and b.
  DType dtype = Float32;
};
/// Transposed convolution (PyTorch's ConvTranspose2d).  W (C, out_channels/groups, KH, KW).
class Deconv2d : public WeightLayer {
 public:
  /// out_channels output channels, windows of size kernel; input channels as in Conv2d.
  Deconv2d(int64_t out_channels, Pair kernel, Deconv2dOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  void init_weight(int64_t in_channels, DType dtype) override;
  int64_t out_channels_;
  Pair kernel_;
  Deconv2dOptions opt_;
};

/// Options of BatchNorm.
struct BatchNormOptions {
  double decay = 0.9;  ///< running = decay * running + (1 - decay) * batch
  double eps = 2e-5;   ///< added to the variance before the square root
};
/// Batch normalization over (N) for 2-d input or (N, H, W) for 4-d input, per channel; the
/// channel count is inferred. Running statistics are used in eval mode.
class BatchNorm : public Layer {
 public:
  /// Parameters and running statistics are sized on the first input.
  explicit BatchNorm(BatchNormOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override;
  ///@{
  /// Scale and shift (C,).
  Parameter gamma, beta;
  ///@}
  /// Running mean (C,), saved with the parameters.
  Tensor& running_mean() { return *mean_; }
  /// Running variance (C,), saved with the parameters.
  Tensor& running_var() { return *var_; }

 private:
  BatchNormOptions opt_;
  std::shared_ptr<Tensor> mean_, var_;
};

/// PyTorch's names: one BatchNorm handles (N, C) and (N, C, H, W).
using BatchNorm1d = BatchNorm;
/// BatchNorm, for (N, C, H, W) input.
using BatchNorm2d = BatchNorm;

/// Inverted dropout in training mode, the identity in eval mode.
class Dropout : public Layer {
 public:
  /// Zeroes a fraction `ratio` of the elements in training mode.
  explicit Dropout(double ratio = 0.5);
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  double ratio_;
};

/// Max pooling (stride defaults to the kernel).
class MaxPool2d : public Layer {
 public:
  /// Windows of size kernel.
  explicit MaxPool2d(Pair kernel, functions::Pool2dOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  Pair kernel_;
  functions::Pool2dOptions opt_;
};

/// Average pooling (stride defaults to the kernel).
class AvgPool2d : public Layer {
 public:
  /// Windows of size kernel.
  explicit AvgPool2d(Pair kernel, functions::Pool2dOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  Pair kernel_;
  functions::Pool2dOptions opt_;
};

/// (N, ...) -> (N, prod(...)).
class Flatten : public Layer {
 public:
  Variable forward(const Variable& x) override { return functions::flatten(x); }
  std::string name() const override { return "Flatten()"; }
};

/// max(x, 0).
class ReLU : public Layer {
 public:
  Variable forward(const Variable& x) override { return functions::relu(x); }
  std::string name() const override { return "ReLU()"; }
};

/// 1 / (1 + exp(-x)).
class Sigmoid : public Layer {
 public:
  Variable forward(const Variable& x) override { return functions::sigmoid(x); }
  std::string name() const override { return "Sigmoid()"; }
};

/// tanh(x).
class Tanh : public Layer {
 public:
  Variable forward(const Variable& x) override { return functions::tanh(x); }
  std::string name() const override { return "Tanh()"; }
};

/// x for x > 0, slope * x otherwise.
class LeakyReLU : public Layer {
 public:
  /// `slope` multiplies the negative inputs.
  explicit LeakyReLU(double slope = 0.2) : slope_(slope) {}
  Variable forward(const Variable& x) override { return functions::leaky_relu(x, slope_); }
  std::string name() const override;

 private:
  double slope_;
};

}  // namespace dezero::layers
