// Matrix products: matmul (batched, broadcasting, optional transposes) and linear.

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero::functions {
namespace {

// y = op(a) @ op(b), op(m) = m^T when its flag is set (last two axes).
// Writing A' = op(a), B' = op(b):  dA' = gy B'^T,  dB' = A'^T gy, and for a transposed operand
// the gradient is the transpose of that: da = B' gy^T, db = gy^T A'. Each is again a MatMul with
// flags, so no transpose is ever materialized; batch broadcasting is undone with sum_to.
class MatMul final : public Function {
 public:
  MatMul(bool trans_a, bool trans_b) : ta_(trans_a), tb_(trans_b) {}
  std::string name() const override { return "matmul"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::matmul(xs[0], xs[1], ta_, tb_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &a = input(0), &b = input(1), &gy = gys[0];
    Variable ga, gb;
    if (a.requires_grad())
      ga = sum_to(ta_ ? matmul(b, gy, tb_, true) : matmul(gy, b, false, !tb_), a.shape());
    if (b.requires_grad())
      gb = sum_to(tb_ ? matmul(gy, a, true, ta_) : matmul(a, gy, !ta_, false), b.shape());
    return {ga, gb};
  }

 private:
  bool ta_, tb_;
};

}  // namespace

Variable matmul(const Variable& x, const Variable& W) { return call<MatMul>({x, W}, false, false); }

Variable matmul(const Variable& a, const Variable& b, bool trans_a, bool trans_b) {
  return call<MatMul>({a, b}, trans_a, trans_b);
}

Variable linear(const Variable& x, const Variable& W, const Variable& b) {
  DZ_CHECK(W.ndim() == 2, "linear: W must be (I, O); got {}", to_string(W.shape()));
  if (b.defined())
    DZ_CHECK(b.ndim() == 1 && b.size(0) == W.size(1), "linear: b must be ({},) for W {}; got {}",
             W.size(1), to_string(W.shape()), to_string(b.shape()));
  const Variable y = matmul(x, W);
  return b.defined() ? y + b : y;
}

}  // namespace dezero::functions
