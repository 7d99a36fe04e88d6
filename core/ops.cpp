#include "dezero/core/ops.h"

#include <algorithm>
#include <numeric>

#include "dezero/core/backend.h"
#include "dezero/core/error.h"

namespace dezero::ops {
namespace {

void check_defined(const Tensor& x, const char* op) {
  DZ_CHECK(x.defined(), "{}: the input tensor is undefined", op);
}

// Shape with a 1 at each reduced axis.
Shape keepdims_shape(const Shape& s, const std::vector<int64_t>& axes) {
  Shape k = s;
  for (int64_t a : axes) k[a] = 1;
  return k;
}

// Shape without the reduced axes.
Shape squeezed_shape(const Shape& s, const std::vector<int64_t>& axes) {
  Shape k;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) k.push_back(s[i]);
  return k;
}

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims,
              const char* name) {
  check_defined(x, name);
  const auto ax = normalize_axes(axes, x.ndim(), name);
  if (op != ReduceOp::Sum)
    for (int64_t a : ax)
      DZ_CHECK(x.shape()[a] > 0, "{}: zero-size axis {} of {} has no {}", name, a,
               to_string(x.shape()), name);
  Tensor out = Tensor::empty(keepdims_shape(x.shape(), ax), x.dtype(), x.device());
  backend_for(x.device()).reduce(op, x, out);
  return keepdims ? out : out.reshape(squeezed_shape(x.shape(), ax));
}

Tensor arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, bool keepdims, const char* name) {
  check_defined(x, name);
  const int64_t a = normalize_axis(axis, x.ndim(), name);
  DZ_CHECK(x.shape()[a] > 0, "{}: zero-size axis {} of {}", name, a, to_string(x.shape()));
  Tensor out = Tensor::empty(keepdims_shape(x.shape(), {a}), x.dtype(), x.device());
  backend_for(x.device()).arg_reduce(op, x, a, out);
  return keepdims ? out : out.reshape(squeezed_shape(x.shape(), {a}));
}

}  // namespace

void check_compatible(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op);
  check_defined(b, op);
  DZ_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch: {} {} vs {} {} (convert one with .to(dtype))",
           op, to_string(a.dtype()), to_string(a.shape()), to_string(b.dtype()), to_string(b.shape()));
  DZ_CHECK(a.device() == b.device(), "{}: tensors on different devices: {} {} vs {} {}", op,
           to_string(a.device()), to_string(a.shape()), to_string(b.device()), to_string(b.shape()));
}

// ---- Elementwise ----

Tensor unary(UnaryOp op, const Tensor& x, const char* name) {
  check_defined(x, name);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend_for(x.device()).unary(op, x, out);
  return out;
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::Neg, x, "neg"); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::Exp, x, "exp"); }
Tensor log(const Tensor& x) { return unary(UnaryOp::Log, x, "log"); }
Tensor sin(const Tensor& x) { return unary(UnaryOp::Sin, x, "sin"); }
Tensor cos(const Tensor& x) { return unary(UnaryOp::Cos, x, "cos"); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::Tanh, x, "tanh"); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::Sqrt, x, "sqrt"); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::Abs, x, "abs"); }
Tensor square(const Tensor& x) { return unary(UnaryOp::Square, x, "square"); }
Tensor sign(const Tensor& x) { return unary(UnaryOp::Sign, x, "sign"); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, x, "sigmoid"); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::Relu, x, "relu"); }

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_compatible(a, b, name);
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shape(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  backend_for(a.device()).binary(op, a, b, out);
  return out;
}

void axpby(double a, const Tensor& x, double b, Tensor& y) {
  check_compatible(x, y, "axpby");
  DZ_CHECK(x.shape() == y.shape(), "axpby: x {} and y {} must have the same shape", to_string(x.shape()),
           to_string(y.shape()));
  if (y.numel() > 0) backend_for(y.device()).axpby(a, x, b, y);
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b, "div"); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Pow, a, b, "pow"); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Maximum, a, b, "maximum"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Minimum, a, b, "minimum"); }
Tensor eq(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Eq, a, b, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Ne, a, b, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Lt, a, b, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Le, a, b, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Gt, a, b, "gt"); }
Tensor pass_where_positive(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::PassWherePositive, a, b, "pass_where_positive");
}
Tensor ge(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Ge, a, b, "ge"); }

Tensor scalar_like(const Tensor& like, double value) {
  check_defined(like, "scalar_like");
  return Tensor::full({}, value, like.dtype(), like.device());
}

// ---- Reductions ----

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce(ReduceOp::Sum, x, axes, keepdims, "sum");
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  check_defined(x, "mean");
  int64_t count = 1;
  for (int64_t a : normalize_axes(axes, x.ndim(), "mean")) count *= x.shape()[a];
  DZ_CHECK(count > 0, "mean: mean over zero elements of {}", to_string(x.shape()));
  return mul(sum(x, axes, keepdims), scalar_like(x, 1.0 / static_cast<double>(count)));
}

Tensor max(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce(ReduceOp::Max, x, axes, keepdims, "max");
}

Tensor min(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce(ReduceOp::Min, x, axes, keepdims, "min");
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdims) {
  return arg_reduce(ReduceOp::Max, x, axis, keepdims, "argmax");
}

Tensor argmin(const Tensor& x, int64_t axis, bool keepdims) {
  return arg_reduce(ReduceOp::Min, x, axis, keepdims, "argmin");
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  check_defined(x, "sum_to");
  if (x.shape() == shape) return x;
  DZ_CHECK(shape.size() <= x.shape().size() &&
               broadcast_shape(shape, x.shape(), "sum_to") == x.shape(),
           "sum_to: cannot sum {} down to {}", to_string(x.shape()), to_string(shape));
  const size_t lead = x.shape().size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < x.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(static_cast<int64_t>(i));
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, true).reshape(shape);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  check_defined(x, "broadcast_to");
  if (x.shape() == shape) return x;
  DZ_CHECK(x.shape().size() <= shape.size() &&
               broadcast_shape(x.shape(), shape, "broadcast_to") == shape,
           "broadcast_to: cannot broadcast {} to {}", to_string(x.shape()), to_string(shape));
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  backend_for(x.device()).binary(BinaryOp::Add, x, scalar_like(x, 0.0), out);
  return out;
}

Tensor softmax(const Tensor& x, int64_t axis) {
  const Tensor e = exp(sub(x, max(x, {axis}, true)));
  return div(e, sum(e, {axis}, true));
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  // log softmax(x) = (x - m) - log(sum(exp(x - m))), m = max(x): no overflow, no log(0).
  const Tensor shifted = sub(x, max(x, {axis}, true));
  return sub(shifted, log(sum(exp(shifted), {axis}, true)));
}

// ---- Shape and layout ----

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined(x, "reshape");
  return x.reshape(shape);
}

Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes) {
  check_defined(x, "transpose");
  std::vector<int64_t> perm(x.ndim());
  if (axes.empty()) {
    std::iota(perm.rbegin(), perm.rend(), 0);
  } else {
    DZ_CHECK(static_cast<int64_t>(axes.size()) == x.ndim(),
             "transpose: axes {} do not match a tensor of shape {}", to_string(axes), to_string(x.shape()));
    for (size_t i = 0; i < axes.size(); ++i) perm[i] = normalize_axis(axes[i], x.ndim(), "transpose");
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < x.ndim(); ++i)
      DZ_CHECK(sorted[i] == i, "transpose: axes {} are not a permutation for shape {}",
               to_string(axes), to_string(x.shape()));
  }
  Shape out_shape(x.ndim());
  for (int64_t i = 0; i < x.ndim(); ++i) out_shape[i] = x.shape()[perm[i]];
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  backend_for(x.device()).permute(x, perm, out);
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_compatible(a, b, "matmul");
  DZ_CHECK(a.ndim() >= 2 && b.ndim() >= 2, "matmul: operands must be at least 2-d: x {} @ W {}",
           to_string(a.shape()), to_string(b.shape()));
  const int64_t M = a.size(trans_a ? -1 : -2), K = a.size(trans_a ? -2 : -1);
  const int64_t Kb = b.size(trans_b ? -1 : -2), N = b.size(trans_b ? -2 : -1);
  DZ_CHECK(K == Kb, "matmul: inner dimensions differ: x {}{} @ W {}{}", to_string(a.shape()),
           trans_a ? "^T" : "", to_string(b.shape()), trans_b ? "^T" : "");
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shape(a_batch, b_batch, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  GemmSpec spec{M, N, K, trans_a, trans_b, 1.0, 0.0, {}, {}, {}};
  const int64_t nb = numel(batch);
  if (K == 0 || nb == 0) {
    out.fill_(0);
    return out;
  }
  // Batch offsets: each operand's batch index with stride 0 on its broadcast dimensions.
  auto strides_for = [&](const Shape& op_batch, int64_t mat) {
    std::vector<int64_t> s(batch.size(), 0);
    const auto cs = contiguous_strides(op_batch);
    const size_t lead = batch.size() - op_batch.size();
    for (size_t i = 0; i < op_batch.size(); ++i) s[lead + i] = op_batch[i] == 1 ? 0 : cs[i] * mat;
    return s;
  };
  const auto sa = strides_for(a_batch, M * K), sb = strides_for(b_batch, K * N);
  for (int64_t i = 0; i < nb; ++i) {
    int64_t oa = 0, ob = 0, rem = i;
    for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
      oa += rem % batch[d] * sa[d];
      ob += rem % batch[d] * sb[d];
      rem /= batch[d];
    }
    spec.a_offsets.push_back(oa);
    spec.b_offsets.push_back(ob);
    spec.c_offsets.push_back(i * M * N);
  }
  backend_for(a.device()).gemm(a, b, out, spec);
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  DZ_CHECK(!xs.empty(), "concat: needs at least one tensor");
  const Tensor& x0 = xs[0];
  check_defined(x0, "concat");
  const int64_t a = normalize_axis(axis, x0.ndim(), "concat");
  Shape out_shape = x0.shape();
  out_shape[a] = 0;
  for (const Tensor& x : xs) {
    check_compatible(x0, x, "concat");
    Shape s0 = x0.shape(), s = x.shape();
    DZ_CHECK(s.size() == s0.size(), "concat: shapes {} and {} differ in rank", to_string(s0), to_string(s));
    s0[a] = s[a] = 0;
    DZ_CHECK(s0 == s, "concat: shapes {} and {} differ outside axis {}", to_string(x0.shape()),
             to_string(x.shape()), a);
    out_shape[a] += x.shape()[a];
  }
  Tensor out = Tensor::empty(out_shape, x0.dtype(), x0.device());
  const int64_t outer = numel(Shape(out_shape.begin(), out_shape.begin() + a));
  const int64_t row = out.numel() / std::max<int64_t>(1, outer);
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    const int64_t cols = x.numel() / std::max<int64_t>(1, outer);
    backend_for(x.device()).copy2d(x, out, {outer, cols, 0, cols, offset, row});
    offset += cols;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  check_defined(x, "split");
  const int64_t a = normalize_axis(axis, x.ndim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    DZ_CHECK(s >= 0, "split: negative size in {}", to_string(sizes));
    total += s;
  }
  DZ_CHECK(total == x.shape()[a], "split: sizes {} add up to {}, not to axis {} of {}",
           to_string(sizes), total, a, to_string(x.shape()));
  const int64_t outer = numel(Shape(x.shape().begin(), x.shape().begin() + a));
  const int64_t row = x.numel() / std::max<int64_t>(1, outer);
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape();
    shape[a] = s;
    Tensor y = Tensor::empty(shape, x.dtype(), x.device());
    const int64_t cols = y.numel() / std::max<int64_t>(1, outer);
    backend_for(x.device()).copy2d(x, y, {outer, cols, offset, row, 0, cols});
    offset += cols;
    out.push_back(y);
  }
  return out;
}

Tensor gather(const Tensor& x, const ResolvedIndex& index) {
  check_defined(x, "get_item");
  DZ_CHECK(x.shape() == index.x_shape, "get_item: index resolved for {} applied to {}",
           to_string(index.x_shape), to_string(x.shape()));
  Tensor out = Tensor::empty(index.out_shape, x.dtype(), x.device());
  backend_for(x.device()).gather(x, index, out);
  return out;
}

Tensor scatter_add(const Tensor& gy, const ResolvedIndex& index) {
  check_defined(gy, "get_item_grad");
  DZ_CHECK(gy.shape() == index.out_shape, "get_item_grad: gy {} does not match the indexed shape {}",
           to_string(gy.shape()), to_string(index.out_shape));
  Tensor out = Tensor::empty(index.x_shape, gy.dtype(), gy.device());
  backend_for(gy.device()).scatter_add(gy, index, out);
  return out;
}

Tensor cast(const Tensor& x, DType dtype) {
  check_defined(x, "cast");
  return dtype == x.dtype() ? x.clone() : x.to(dtype);
}

}  // namespace dezero::ops
