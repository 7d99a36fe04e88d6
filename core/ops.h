#pragma once
// Tensor-level operations (never differentiable): validate, infer the output shape, allocate,
// dispatch to the tensor's backend. Every shape, dtype and device check lives here, once.

#include <cstdint>
#include <vector>

#include "dezero/core/elementwise.h"
#include "dezero/core/index.h"
#include "dezero/core/tensor.h"

/// Tensor-level operations (not differentiable): validation, shape inference and dispatch.
namespace dezero::ops {

// ---- Elementwise ----
/// out = op(x) elementwise.
Tensor unary(UnaryOp op, const Tensor& x, const char* name);
/// -x.
Tensor neg(const Tensor& x);
/// e^x.
Tensor exp(const Tensor& x);
/// Natural logarithm.
Tensor log(const Tensor& x);
/// sin(x).
Tensor sin(const Tensor& x);
/// cos(x).
Tensor cos(const Tensor& x);
/// tanh(x).
Tensor tanh(const Tensor& x);
/// Square root.
Tensor sqrt(const Tensor& x);
/// |x|.
Tensor abs(const Tensor& x);
/// x * x.
Tensor square(const Tensor& x);
/// -1, 0 or 1 as x is negative, zero or positive.
Tensor sign(const Tensor& x);
/// 1 / (1 + exp(-x)), overflow-free.
Tensor sigmoid(const Tensor& x);
/// max(x, 0).
Tensor relu(const Tensor& x);

/// out = op(a, b) with NumPy broadcasting; dtypes and devices must agree.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
/// a + b.
Tensor add(const Tensor& a, const Tensor& b);
/// a - b.
Tensor sub(const Tensor& a, const Tensor& b);
/// a * b.
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b.
Tensor div(const Tensor& a, const Tensor& b);
/// a to the power b.
Tensor pow(const Tensor& a, const Tensor& b);
/// The larger of a and b.
Tensor maximum(const Tensor& a, const Tensor& b);
/// The smaller of a and b.
Tensor minimum(const Tensor& a, const Tensor& b);
/// a == b. Comparisons return 1 where true and 0 elsewhere, in the operands' dtype.
Tensor eq(const Tensor& a, const Tensor& b);
/// a != b.
Tensor ne(const Tensor& a, const Tensor& b);
/// a < b.
Tensor lt(const Tensor& a, const Tensor& b);
/// a <= b.
Tensor le(const Tensor& a, const Tensor& b);
/// a > b.
Tensor gt(const Tensor& a, const Tensor& b);
/// a where b > 0, else 0 (broadcasting): ReLU's backward.
Tensor pass_where_positive(const Tensor& a, const Tensor& b);
/// a >= b, as 1 or 0 like eq.
Tensor ge(const Tensor& a, const Tensor& b);
/// A 0-d tensor holding value, with like's dtype and device (scalars take the tensor's dtype).
Tensor scalar_like(const Tensor& like, double value);
/// y = a x + b y in place (BLAS axpby: x and y of one shape, dtype and device; x may be y; a
/// zero a or b does not read its operand, so 0 * inf never makes a NaN).
void axpby(double a, const Tensor& x, double b, Tensor& y);

// ---- Reductions ----
/// Sum over axes (all when empty).
Tensor sum(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Mean over axes (all when empty).
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Maximum over axes (all when empty).
Tensor max(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Minimum over axes (all when empty).
Tensor min(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
/// Index of the maximum along axis (first one on ties), as values of x's dtype.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdims = false);
/// Index of the minimum along axis.
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims = false);
/// Sums x down to shape (the reverse of broadcast_to).
Tensor sum_to(const Tensor& x, const Shape& shape);
/// Broadcasts x to shape (materialized).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Softmax along axis (max-shifted).
Tensor softmax(const Tensor& x, int64_t axis = -1);
/// log(softmax(x)) along axis, via log-sum-exp.
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

// ---- Shape and layout ----
/// Same data, new shape (one -1 allowed).
Tensor reshape(const Tensor& x, const Shape& shape);
/// Permutes axes (reverses them when axes is empty); materialized.
Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes = {});
/// Batched matrix product with NumPy broadcasting of batch dims; op(a) (..., M, K) @ op(b) (..., K, N).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
/// Joins tensors along axis.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
/// Splits x along axis into pieces of the given sizes (which must add up to x.shape[axis]).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
/// x[index] for a resolved index.
Tensor gather(const Tensor& x, const ResolvedIndex& index);
/// The gradient of gather: zeros of index.x_shape with gy added at the indexed places.
Tensor scatter_add(const Tensor& gy, const ResolvedIndex& index);
/// Converts to dtype (a new tensor).
Tensor cast(const Tensor& x, DType dtype);

/// Throws "<op>: dtype mismatch ..." / "<op>: tensors on different devices ..." naming both shapes.
void check_compatible(const Tensor& a, const Tensor& b, const char* op);

}  // namespace dezero::ops
