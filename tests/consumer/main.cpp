// Uses the installed headers and library: one include, a graph, a second derivative.
#include <dezero/dezero.h>

#include <iostream>

namespace F = dezero::functions;

int main() {
  dezero::Variable x(dezero::Tensor::scalar(2.0, dezero::Float64));
  dezero::Variable y = x * x * x * x - 2 * x * x;
  y.backward(/*retain_grad=*/false, /*create_graph=*/true);
  dezero::Variable gx = x.grad();
  x.clear_grad();
  gx.backward();
  std::cout << "y' = " << gx.item() << ", y'' = " << x.grad().item() << '\n';
  return gx.item() == 24.0 && x.grad().item() == 44.0 ? 0 : 1;
}
