#pragma once
// Every differentiable function (DeZero's functions.py), declared once, with math and shapes.
// Each returns a Variable whose backward is made of Variable operations, so derivatives of any
// order exist. namespace F = dezero::functions;

#include <cstdint>
#include <optional>
#include <vector>

#include "dezero/core/arithmetic.h"
#include "dezero/core/conv.h"
#include "dezero/core/index.h"
#include "dezero/core/variable.h"

/// Differentiable functions on Variables (namespace F = dezero::functions).
namespace dezero::functions {

using dezero::add;
using dezero::broadcast_to;
using dezero::div;
using dezero::mul;
using dezero::neg;
using dezero::pow;
using dezero::sub;
using dezero::sum_to;

// ---- Math (functions/math.cpp) ----
/// y = sin(x).
Variable sin(const Variable& x);
/// y = cos(x).
Variable cos(const Variable& x);
/// y = tanh(x).
Variable tanh(const Variable& x);
/// y = exp(x).
Variable exp(const Variable& x);
/// y = log(x) (natural).
Variable log(const Variable& x);
/// y = sqrt(x).
Variable sqrt(const Variable& x);
/// y = x^2.
Variable square(const Variable& x);

// ---- Shape (functions/shape.cpp) ----
/// Same data, new shape (one -1 allowed).
Variable reshape(const Variable& x, const Shape& shape);
/// Permutes axes; reverses them when axes is empty (x.T).
Variable transpose(const Variable& x, const std::vector<int64_t>& axes = {});
/// x[index]: integers, Slice{start, stop, step} and index arrays, NumPy's rules.
Variable get_item(const Variable& x, const IndexList& index);
/// Inserts a dimension of size 1 at axis.
Variable expand_dims(const Variable& x, int64_t axis);
/// (N, ...) -> (N, prod(...)), as DeZero's flatten.
Variable flatten(const Variable& x);
/// Joins xs along axis; shapes must agree elsewhere.
Variable concat(const std::vector<Variable>& xs, int64_t axis = 0);
/// Splits x along axis into pieces of the given sizes (summing to x.shape[axis]).
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t axis = 0);
/// Rows of W picked by integer ids: ids (any shape), W (V, D) -> ids.shape + (D,).
Variable embed_id(const Tensor& ids, const Variable& W);

// ---- Reductions (functions/reduce.cpp) ----
/// Sum over axes (all when empty).
Variable sum(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Mean over axes (all when empty).
Variable mean(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Maximum over axes (all when empty); the gradient goes to the maximal elements.
Variable max(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Minimum over axes (all when empty).
Variable min(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Index of the maximum along axis (the last by default; the first on ties) in x's dtype, as a
/// constant (not differentiable): argmax(logits) of (N, C) gives the (N,) predicted classes.
Variable argmax(const Variable& x, int64_t axis = -1, bool keepdims = false);
/// Index of the minimum along axis (the first on ties); a constant.
Variable argmin(const Variable& x, int64_t axis = -1, bool keepdims = false);

// ---- Matrix products (functions/matmul.cpp) ----
/// y = x @ W; (..., M, K) @ (..., K, N) -> (..., M, N), batch dims broadcast as in NumPy.
Variable matmul(const Variable& x, const Variable& W);
/// y = op(a) @ op(b), op transposing the last two axes when asked (no copy is made).
Variable matmul(const Variable& a, const Variable& b, bool trans_a, bool trans_b);
/// y = x W + b.  x (N, I), W (I, O), b (O) or undefined -> y (N, O)
Variable linear(const Variable& x, const Variable& W, const Variable& b = Variable());

// ---- Activations (functions/activation.cpp) ----
/// y = 1 / (1 + exp(-x)).
Variable sigmoid(const Variable& x);
/// y = max(x, 0).
Variable relu(const Variable& x);
/// y = x for x > 0, slope * x otherwise.
Variable leaky_relu(const Variable& x, double slope = 0.2);
/// y = exp(x) / sum(exp(x), axis) (DeZero's default axis 1).
Variable softmax(const Variable& x, int64_t axis = 1);
/// y = log(softmax(x, axis)), computed stably.
Variable log_softmax(const Variable& x, int64_t axis = 1);
/// y = min(max(x, lo), hi); the gradient is zero outside [lo, hi].
Variable clip(const Variable& x, double lo, double hi);

// ---- Losses (functions/loss.cpp) ----
/// sum((x0 - x1)^2) / len(x0) (DeZero's definition: divided by the first dimension).
Variable mean_squared_error(const Variable& x0, const Variable& x1);
/// Mean over N of -log softmax(x)[n, t[n]].  x (N, C), t (N,) integer labels in [0, C).
Variable softmax_cross_entropy(const Variable& x, const Tensor& t);
/// Mean over N of the summed logistic loss of logits x against targets t in [0, 1] (x's shape).
Variable sigmoid_cross_entropy(const Variable& x, const Variable& t);
/// -sum(t log p + (1 - t) log(1 - p)) / N for probabilities p, clipped to [eps, 1 - eps]
/// (eps 1e-15 in float64, 1e-7 in float32).
Variable binary_cross_entropy(const Variable& p, const Variable& t);
/// Fraction of rows whose argmax equals the label (not differentiable).  y (N, C), t (N,)
Variable accuracy(const Variable& y, const Tensor& t);

// ---- Regularization and normalization (functions/normalization.cpp) ----
/// Inverted dropout: zeroes a fraction `ratio` and scales the rest by 1 / (1 - ratio) in
/// training mode; the identity in test mode (TestModeGuard).
Variable dropout(const Variable& x, double ratio = 0.5);

/// Options of batch_norm (DeZero's defaults).
struct BatchNormOptions {
  double decay = 0.9;  ///< running = decay * running + (1 - decay) * batch statistic
  double eps = 2e-5;   ///< added to the variance before the square root
};
/// Batch normalization over N (and H, W for 4-d x) per channel.  x (N, C) or (N, C, H, W),
/// gamma/beta (C,); training mode updates running_mean/var (C,) in place; test mode uses them.
Variable batch_norm(const Variable& x, const Variable& gamma, const Variable& beta,
                    Tensor& running_mean, Tensor& running_var, BatchNormOptions options = {});

// ---- Convolution and pooling (functions/conv.cpp, functions/pooling.cpp) ----
// Shapes: x (N, C, H, W); conv weight (OC, C/groups, KH, KW) and deconv weight
// (C, OC/groups, KH, KW) as in PyTorch; OH = (H + 2 pad - dilation (KH - 1) - 1) / stride + 1.

/// Options of im2col / col2im.
struct Im2colOptions {
  Pair stride = 1;         ///< step between windows
  Pair pad = 0;            ///< zero rows/columns added on each side
  Pair dilation = 1;       ///< spacing of a window's taps
  bool to_matrix = false;  ///< (N*OH*OW, C*KH*KW) instead of (N, C*KH*KW, OH*OW)
};
/// Patches of x as columns: (N, C*KH*KW, OH*OW), rows ordered (c, kh, kw). Differentiable at any
/// order (its backward is col2im).
Variable im2col(const Variable& x, Pair kernel, const Im2colOptions& options = {});
/// The adjoint of im2col: columns back to an image of input_shape, overlapping patches summed.
Variable col2im(const Variable& col, const Shape& input_shape, Pair kernel,
                const Im2colOptions& options = {});

/// How pad2d (and a conv's padding) fills the border: PyTorch's padding_mode.
enum class PaddingMode { Zeros, Reflect, Replicate, Circular };
/// Rows added above and below, columns left and right.
struct Padding2d {
  ///@{
  /// Rows above (top) and below (bottom), columns left and right of the input.
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  ///@}
};
/// Pads the last two axes of x (..., H, W): zeros, a mirror without the edge (reflect, padding
/// < the axis), copies of the edge (replicate) or the other side (circular, padding <= the
/// axis); PyTorch's F.pad. Differentiable at any order.
Variable pad2d(const Variable& x, Padding2d padding, PaddingMode mode = PaddingMode::Zeros);

/// Options of conv2d / conv2d_simple.
struct Conv2dOptions {
  /// Step between windows.
  Pair stride = 1;
  /// Rows/columns added on each side (filled as padding_mode says).
  Pair pad = 0;
  /// Spacing of a window's taps.
  Pair dilation = 1;
  /// Channel groups: C and OC must be multiples of it.
  int64_t groups = 1;
  PaddingMode padding_mode = PaddingMode::Zeros;  ///< how the pad is filled
  bool same = false;  ///< PyTorch's padding="same" (stride 1; pad is ignored): the output keeps
                      ///< the input's size, an odd total padding putting the extra row/column last
};
/// y = conv(x, W) + b, the fused grouped GEMM path. x (N, C, H, W), W (OC, C/groups, KH, KW),
/// b (OC) or undefined -> y (N, OC, OH, OW). Differentiable at any order.
Variable conv2d(const Variable& x, const Variable& W, const Variable& b = Variable(),
                const Conv2dOptions& options = {});
/// The same convolution composed of im2col, a broadcasting batched matmul and reshapes: the
/// readable reference and test oracle.
Variable conv2d_simple(const Variable& x, const Variable& W, const Variable& b = Variable(),
                       const Conv2dOptions& options = {});

/// Options of deconv2d (PyTorch's conv_transpose2d).
struct Deconv2dOptions {
  /// Stride of the convolution this one transposes.
  Pair stride = 1;
  /// Padding of the convolution this one transposes (removed from the output).
  Pair pad = 0;
  /// Spacing of a window's taps.
  Pair dilation = 1;
  /// Channel groups: C and OC must be multiples of it.
  int64_t groups = 1;
  Pair output_padding = 0;  ///< extra rows/columns at the bottom/right, < max(stride, dilation)
  std::optional<Pair> outsize =
      std::nullopt;  ///< or ask for an output size directly (DeZero's outsize)
};
/// Transposed convolution (the gradient of conv2d w.r.t. its input). x (N, C, H, W),
/// W (C, OC/groups, KH, KW), b (OC) -> (N, OC, (H - 1) stride - 2 pad + dilation (KH - 1) +
/// output_padding + 1, ...).
Variable deconv2d(const Variable& x, const Variable& W, const Variable& b = Variable(),
                  const Deconv2dOptions& options = {});

/// Options of max_pool2d / avg_pool2d (PyTorch's semantics; stride defaults to the kernel).
struct Pool2dOptions {
  /// Step between windows; unset: the kernel size.
  std::optional<Pair> stride = std::nullopt;
  /// Rows/columns of padding on each side (never the maximum, zeros in an average).
  Pair pad = 0;
  Pair dilation = 1;              ///< max_pool2d only
  bool ceil_mode = false;         ///< round the output size up (a last window
                                  ///< starting in the bottom/right padding is dropped)
  bool count_include_pad = true;  ///< avg_pool2d: padding counts in the divisor
  std::optional<int64_t> divisor_override = std::nullopt;  ///< avg_pool2d: divide every sum by this
};
/// Max over each window (padding never wins); the gradient goes to the first maximum.
/// Differentiable at any order.  (N, C, H, W) -> (N, C, OH, OW). A window that lies wholly in
/// the padding (possible with dilation) is an error (PyTorch gives -inf there).
Variable max_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& options = {});
/// Mean over each window. As PyTorch: by default padding counts as zeros in the divisor but the
/// part of a ceil-mode window past the padding does not; count_include_pad = false divides by
/// the input elements only; divisor_override replaces the divisor.
Variable avg_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& options = {});
/// Mean over H and W.  (N, C, H, W) -> (N, C, 1, 1)
Variable global_avg_pool2d(const Variable& x);

}  // namespace dezero::functions
