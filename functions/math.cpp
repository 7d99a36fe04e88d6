// Elementwise math: sin cos tanh exp log sqrt square.

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero::functions {
namespace {

// y = sin(x)    dy/dx = cos(x)
class Sin final : public Function {
 public:
  std::string name() const override { return "sin"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::sin(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] * cos(input(0))};
  }
};

// y = cos(x)    dy/dx = -sin(x)
class Cos final : public Function {
 public:
  std::string name() const override { return "cos"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::cos(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] * -sin(input(0))};
  }
};

// y = tanh(x)    dy/dx = 1 - y^2
class Tanh final : public Function {
 public:
  std::string name() const override { return "tanh"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::tanh(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable y = output(0);
    return {gys[0] * (1.0 - y * y)};
  }
};

// y = exp(x)    dy/dx = y
class Exp final : public Function {
 public:
  std::string name() const override { return "exp"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::exp(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] * output(0)};
  }
};

// y = log(x)    dy/dx = 1 / x
class Log final : public Function {
 public:
  std::string name() const override { return "log"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::log(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] / input(0)};
  }
};

// y = sqrt(x)    dy/dx = 1 / (2 y)
class Sqrt final : public Function {
 public:
  std::string name() const override { return "sqrt"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::sqrt(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] / (2.0 * output(0))};
  }
};

// y = x^2    dy/dx = 2 x
class Square final : public Function {
 public:
  std::string name() const override { return "square"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::square(xs[0])};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {gys[0] * (2.0 * input(0))};
  }
};

}  // namespace

Variable sin(const Variable& x) { return call<Sin>(x); }
Variable cos(const Variable& x) { return call<Cos>(x); }
Variable tanh(const Variable& x) { return call<Tanh>(x); }
Variable exp(const Variable& x) { return call<Exp>(x); }
Variable log(const Variable& x) { return call<Log>(x); }
Variable sqrt(const Variable& x) { return call<Sqrt>(x); }
Variable square(const Variable& x) { return call<Square>(x); }

}  // namespace dezero::functions
