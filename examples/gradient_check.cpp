// How to check your own Function with dezero::gradient_check / gradgrad_check.
// We write y = swish(x) = x * sigmoid(x) as a custom Function twice: once correctly, once with a
// backward that is right in value but built from a constant, so it has no second derivative.

#include <dezero/dezero.h>

#include <iostream>

#include "cli.h"

namespace F = dezero::functions;
using dezero::Function;
using dezero::Tensor;
using dezero::Variable;

namespace {

// y = x s(x), s = sigmoid    dy/dx = s + x s (1 - s)
class Swish final : public Function {
 public:
  explicit Swish(bool differentiable_backward) : differentiable_(differentiable_backward) {}
  std::string name() const override { return "swish"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {dezero::ops::mul(xs[0], dezero::ops::sigmoid(xs[0]))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable& x = input(0);
    if (differentiable_) {
      const Variable s = F::sigmoid(x);
      return {gys[0] * (s + x * s * (1.0 - s))};
    }
    // Same numbers, but computed on Tensors: the engine cannot differentiate through it.
    const Tensor s = dezero::ops::sigmoid(x.data());
    const Tensor d = s + x.data() * s * (1.0 - s);
    return {gys[0] * Variable::constant(d)};
  }

 private:
  bool differentiable_;
};

Variable swish(const Variable& x, bool differentiable) {
  return dezero::call<Swish>(x, differentiable);
}

int check_swish_and_a_loss() {
  dezero::manual_seed(0);
  const std::vector<Tensor> inputs = {Tensor::randn({3, 4}, dezero::Float64)};
  for (bool differentiable : {true, false}) {
    auto f = [differentiable](const std::vector<Variable>& v) {
      return swish(v[0], differentiable);
    };
    std::cout << (differentiable ? "swish with a Variable backward:\n"
                                 : "swish with a Tensor backward:\n");
    std::cout << "  " << dezero::gradient_check(f, inputs) << '\n';
    std::cout << "  " << dezero::gradgrad_check(f, inputs) << '\n';
  }
  // Several inputs at once, with a label input held constant: every other input is checked.
  auto loss = [](const std::vector<Variable>& v) {
    const Tensor labels = Tensor::from_vector({0, 2});
    return F::softmax_cross_entropy(F::linear(v[0], v[1], v[2]), labels);
  };
  dezero::GradCheckReport r = dezero::gradient_check(
      loss, {Tensor::randn({2, 3}, dezero::Float64), Tensor::randn({3, 4}, dezero::Float64),
             Tensor::randn({4}, dezero::Float64)});
  std::cout << "linear + softmax_cross_entropy:\n  " << r << '\n';
  return r.ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  examples::Cli app{
      "gradient_check and gradgrad_check on a custom Function (swish), right and wrong"};
  return app.run(argc, argv, check_swish_and_a_loss);
}
