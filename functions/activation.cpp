// Activations: sigmoid, relu, leaky_relu, softmax, log_softmax, clip.

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero::functions {
namespace {

Variable constant(const Tensor& t) { return Variable::constant(t); }

// y = 1 / (1 + exp(-x))    dy/dx = y (1 - y)
class Sigmoid final : public Function {
 public:
  std::string name() const override { return "sigmoid"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::sigmoid(xs[0])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable y = output(0);
    return {gys[0] * y * (1.0 - y)};
  }
};

// gx = gy where x > 0, else 0 (ReLU's backward in one pass)    dgx/dgy = the same mask, dgx/dx = 0
class ReLUGrad final : public Function {
 public:
  std::string name() const override { return "relu_grad"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::pass_where_positive(xs[0], xs[1])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {call<ReLUGrad>({gys[0], input(1)}), Variable()};
  }
};

// y = max(x, 0)    dy/dx = 1 where x > 0, else 0
class ReLU final : public Function {
 public:
  std::string name() const override { return "relu"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::relu(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {call<ReLUGrad>({gys[0], input(0)})};
  }
};

// y = x * s(x), s = 1 where x > 0, slope elsewhere    dy/dx = s(x)
class LeakyReLU final : public Function {
 public:
  explicit LeakyReLU(double slope) : slope_(slope) {}
  std::string name() const override { return "leaky_relu"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::mul(xs[0], factor(xs[0]))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] * constant(factor(input(0).data()))};
  }

 private:
  Tensor factor(const Tensor& x) const {
    const Tensor positive = ops::gt(x, ops::scalar_like(x, 0.0));
    return ops::add(ops::mul(positive, ops::scalar_like(x, 1.0 - slope_)), ops::scalar_like(x, slope_));
  }
  double slope_;
};

// y = softmax(x)    gx = y * gy - y * sum(y * gy, axis)
class Softmax final : public Function {
 public:
  explicit Softmax(int64_t axis) : axis_(axis) {}
  std::string name() const override { return "softmax"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::softmax(xs[0], axis_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable y = output(0);
    const Variable ygy = y * gys[0];
    return {ygy - y * sum(ygy, {axis_}, true)};
  }

 private:
  int64_t axis_;
};

// y = x - logsumexp(x)    gx = gy - exp(y) * sum(gy, axis)
class LogSoftmax final : public Function {
 public:
  explicit LogSoftmax(int64_t axis) : axis_(axis) {}
  std::string name() const override { return "log_softmax"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::log_softmax(xs[0], axis_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] - exp(output(0)) * sum(gys[0], {axis_}, true)};
  }

 private:
  int64_t axis_;
};

// y = min(max(x, lo), hi)    dy/dx = 1 where lo <= x <= hi, else 0
class Clip final : public Function {
 public:
  Clip(double lo, double hi) : lo_(lo), hi_(hi) {}
  std::string name() const override { return "clip"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    const Tensor& x = xs[0];
    return {ops::minimum(ops::maximum(x, ops::scalar_like(x, lo_)), ops::scalar_like(x, hi_))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Tensor& x = input(0).data();
    const Tensor inside = ops::mul(ops::ge(x, ops::scalar_like(x, lo_)), ops::le(x, ops::scalar_like(x, hi_)));
    return {gys[0] * constant(inside)};
  }

 private:
  double lo_, hi_;
};

}  // namespace

Variable sigmoid(const Variable& x) { return call<Sigmoid>(x); }
Variable relu(const Variable& x) { return call<ReLU>(x); }
Variable leaky_relu(const Variable& x, double slope) { return call<LeakyReLU>(x, slope); }

Variable softmax(const Variable& x, int64_t axis) {
  return call<Softmax>(x, normalize_axis(axis, x.ndim(), "softmax"));
}

Variable log_softmax(const Variable& x, int64_t axis) {
  return call<LogSoftmax>(x, normalize_axis(axis, x.ndim(), "log_softmax"));
}

Variable clip(const Variable& x, double lo, double hi) {
  DZ_CHECK(lo <= hi, "clip: lo {} is greater than hi {}", lo, hi);
  return call<Clip>(x, lo, hi);
}

}  // namespace dezero::functions
