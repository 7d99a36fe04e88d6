#pragma once
// Add Sub Mul Div Neg Pow with NumPy broadcasting, sum_to / broadcast_to, and the operators on
// Variables, Tensors and scalars (either side). Comparisons give constant 0/1 masks.

#include "dezero/core/ops.h"
#include "dezero/core/variable.h"

namespace dezero {

/// y = a + b (broadcasting).
Variable add(const Variable& a, const Variable& b);
/// y = a - b (broadcasting).
Variable sub(const Variable& a, const Variable& b);
/// y = a * b (broadcasting).
Variable mul(const Variable& a, const Variable& b);
/// y = a / b (broadcasting).
Variable div(const Variable& a, const Variable& b);
/// y = -x.
Variable neg(const Variable& x);
/// y = x ^ c for a constant exponent c.
Variable pow(const Variable& x, double c);
/// Sums x down to shape (the gradient of broadcast_to).
Variable sum_to(const Variable& x, const Shape& shape);
/// Broadcasts x to shape (the gradient of sum_to).
Variable broadcast_to(const Variable& x, const Shape& shape);
/// A constant 0-d Variable with like's dtype and device.
Variable scalar_like(const Variable& like, double value);

#define DZ_DECLARE_BINARY_OPERATOR(op)                    \
  Variable operator op(const Variable& a, const Variable& b); \
  Variable operator op(const Variable& a, double b);          \
  Variable operator op(double a, const Variable& b);          \
  Variable operator op(const Variable& a, const Tensor& b);   \
  Variable operator op(const Tensor& a, const Variable& b);
DZ_DECLARE_BINARY_OPERATOR(+)
DZ_DECLARE_BINARY_OPERATOR(-)
DZ_DECLARE_BINARY_OPERATOR(*)
DZ_DECLARE_BINARY_OPERATOR(/)
/// Comparisons: constant masks (1 where true), never differentiated.
DZ_DECLARE_BINARY_OPERATOR(>)
DZ_DECLARE_BINARY_OPERATOR(<)
DZ_DECLARE_BINARY_OPERATOR(>=)
DZ_DECLARE_BINARY_OPERATOR(<=)
#undef DZ_DECLARE_BINARY_OPERATOR
/// -x (differentiable).
Variable operator-(const Variable& x);

// Tensor-level operators (not differentiable), for scripts and tests.
#define DZ_DECLARE_TENSOR_OPERATOR(op)                 \
  Tensor operator op(const Tensor& a, const Tensor& b); \
  Tensor operator op(const Tensor& a, double b);        \
  Tensor operator op(double a, const Tensor& b);
DZ_DECLARE_TENSOR_OPERATOR(+)
DZ_DECLARE_TENSOR_OPERATOR(-)
DZ_DECLARE_TENSOR_OPERATOR(*)
DZ_DECLARE_TENSOR_OPERATOR(/)
#undef DZ_DECLARE_TENSOR_OPERATOR
/// -x (not differentiable).
Tensor operator-(const Tensor& x);

}  // namespace dezero
