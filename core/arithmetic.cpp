#include "dezero/core/arithmetic.h"

#include "dezero/core/function.h"

namespace dezero {
namespace {

// Gradient of a broadcast operand: gy summed back to the operand's shape.
Variable reduce_to(const Variable& g, const Variable& x) {
  return g.shape() == x.shape() ? g : sum_to(g, x.shape());
}

// y = a + b    ga = gy, gb = gy (summed over broadcast dimensions)
class Add final : public Function {
 public:
  std::string name() const override { return "add"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::add(xs[0], xs[1])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    Variable ga = input(0).requires_grad() ? reduce_to(gys[0], input(0)) : Variable();
    Variable gb = input(1).requires_grad() ? reduce_to(gys[0], input(1)) : Variable();
    return {ga, gb};
  }
};

// y = a - b    ga = gy, gb = -gy
class Sub final : public Function {
 public:
  std::string name() const override { return "sub"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::sub(xs[0], xs[1])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    Variable gb = input(1).requires_grad() ? reduce_to(-gys[0], input(1)) : Variable();
    return {reduce_to(gys[0], input(0)), gb};
  }
};

// y = a * b    ga = gy * b, gb = gy * a
class Mul final : public Function {
 public:
  std::string name() const override { return "mul"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::mul(xs[0], xs[1])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &a = input(0), &b = input(1);
    Variable ga = a.requires_grad() ? reduce_to(gys[0] * b, a) : Variable();
    Variable gb = b.requires_grad() ? reduce_to(gys[0] * a, b) : Variable();
    return {ga, gb};
  }
};

// y = a / b    ga = gy / b, gb = -gy * a / b^2
class Div final : public Function {
 public:
  std::string name() const override { return "div"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::div(xs[0], xs[1])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &a = input(0), &b = input(1);
    Variable ga = a.requires_grad() ? reduce_to(gys[0] / b, a) : Variable();
    Variable gb = b.requires_grad() ? reduce_to(-gys[0] * a / (b * b), b) : Variable();
    return {ga, gb};
  }
};

// y = -x    gx = -gy
class Neg final : public Function {
 public:
  std::string name() const override { return "neg"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::neg(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override { return {-gys[0]}; }
};

// y = x^c    gx = c x^(c-1) gy
class Pow final : public Function {
 public:
  explicit Pow(double c) : c_(c) {}
  std::string name() const override { return "pow"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::pow(xs[0], ops::scalar_like(xs[0], c_))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {c_ * pow(input(0), c_ - 1) * gys[0]};
  }

 private:
  double c_;
};

// y = sum_to(x, shape)    gx = broadcast_to(gy, x.shape)
class SumTo final : public Function {
 public:
  explicit SumTo(Shape shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "sum_to"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::sum_to(xs[0], shape_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {broadcast_to(gys[0], input(0).shape())};
  }

 private:
  Shape shape_;
};

// y = broadcast_to(x, shape)    gx = sum_to(gy, x.shape)
class BroadcastTo final : public Function {
 public:
  explicit BroadcastTo(Shape shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "broadcast_to"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::broadcast_to(xs[0], shape_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {sum_to(gys[0], input(0).shape())};
  }

 private:
  Shape shape_;
};

Variable mask(const Tensor& m) { return Variable::constant(m); }

}  // namespace

Variable add(const Variable& a, const Variable& b) { return call<Add>({a, b}); }
Variable sub(const Variable& a, const Variable& b) { return call<Sub>({a, b}); }
Variable mul(const Variable& a, const Variable& b) { return call<Mul>({a, b}); }
Variable div(const Variable& a, const Variable& b) { return call<Div>({a, b}); }
Variable neg(const Variable& x) { return call<Neg>(x); }
Variable pow(const Variable& x, double c) { return call<Pow>(x, c); }

Variable sum_to(const Variable& x, const Shape& shape) {
  return x.shape() == shape ? x : call<SumTo>(x, shape);
}

Variable broadcast_to(const Variable& x, const Shape& shape) {
  return x.shape() == shape ? x : call<BroadcastTo>(x, shape);
}

Variable scalar_like(const Variable& like, double value) {
  return Variable::constant(ops::scalar_like(like.data(), value));
}

#define DZ_DEFINE_BINARY_OPERATOR(op, fn)                                                       \
  Variable operator op(const Variable& a, const Variable& b) { return fn(a, b); }                 \
  Variable operator op(const Variable& a, double b) { return fn(a, scalar_like(a, b)); }          \
  Variable operator op(double a, const Variable& b) { return fn(scalar_like(b, a), b); }          \
  Variable operator op(const Variable& a, const Tensor& b) { return fn(a, Variable::constant(b)); } \
  Variable operator op(const Tensor& a, const Variable& b) { return fn(Variable::constant(a), b); }
DZ_DEFINE_BINARY_OPERATOR(+, add)
DZ_DEFINE_BINARY_OPERATOR(-, sub)
DZ_DEFINE_BINARY_OPERATOR(*, mul)
DZ_DEFINE_BINARY_OPERATOR(/, div)
#undef DZ_DEFINE_BINARY_OPERATOR

#define DZ_DEFINE_COMPARISON(op, fn)                                                        \
  Variable operator op(const Variable& a, const Variable& b) {                              \
    return mask(ops::fn(a.data(), b.data()));                                               \
  }                                                                                         \
  Variable operator op(const Variable& a, double b) {                                       \
    return mask(ops::fn(a.data(), ops::scalar_like(a.data(), b)));                          \
  }                                                                                         \
  Variable operator op(double a, const Variable& b) {                                       \
    return mask(ops::fn(ops::scalar_like(b.data(), a), b.data()));                          \
  }                                                                                         \
  Variable operator op(const Variable& a, const Tensor& b) { return mask(ops::fn(a.data(), b)); } \
  Variable operator op(const Tensor& a, const Variable& b) { return mask(ops::fn(a, b.data())); }
DZ_DEFINE_COMPARISON(>, gt)
DZ_DEFINE_COMPARISON(<, lt)
DZ_DEFINE_COMPARISON(>=, ge)
DZ_DEFINE_COMPARISON(<=, le)
#undef DZ_DEFINE_COMPARISON

Variable operator-(const Variable& x) { return neg(x); }

#define DZ_DEFINE_TENSOR_OPERATOR(op, fn)                                                       \
  Tensor operator op(const Tensor& a, const Tensor& b) { return ops::fn(a, b); }                  \
  Tensor operator op(const Tensor& a, double b) { return ops::fn(a, ops::scalar_like(a, b)); }    \
  Tensor operator op(double a, const Tensor& b) { return ops::fn(ops::scalar_like(b, a), b); }
DZ_DEFINE_TENSOR_OPERATOR(+, add)
DZ_DEFINE_TENSOR_OPERATOR(-, sub)
DZ_DEFINE_TENSOR_OPERATOR(*, mul)
DZ_DEFINE_TENSOR_OPERATOR(/, div)
#undef DZ_DEFINE_TENSOR_OPERATOR

Tensor operator-(const Tensor& x) { return ops::neg(x); }

}  // namespace dezero
