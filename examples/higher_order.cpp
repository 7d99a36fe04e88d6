// Higher-order derivatives with dezero-cpp (DeZero steps 29-36):
//   1. y = x^4 - 2x^2: first and second derivative at x = 2 by autograd;
//   2. Newton's method with automatic second derivatives;
//   3. n-th derivatives of sin and tanh;
//   4. double backprop.
// Usage: higher_order [--graph graph.png]   (also draws the graph of tanh's 4th derivative)

#include <dezero/dezero.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "cli.h"

namespace F = dezero::functions;
using dezero::Tensor;
using dezero::Variable;

namespace {

Variable quartic(const Variable& x) { return F::pow(x, 4.0) - 2.0 * F::pow(x, 2.0); }

Variable scalar(double v) { return Variable(Tensor::scalar(v, dezero::Float64), "x"); }

// d/dx of g, recorded so that it can be differentiated again.
Variable derivative(const Variable& g, const Variable& x) {
  return dezero::grad({g}, {x}, /*create_graph=*/true)[0];
}

int demonstrate(const std::string& graph) {
  // 1. y' and y'' of x^4 - 2x^2 at x = 2.
  Variable x = scalar(2.0);
  Variable y = quartic(x);
  y.backward(/*retain_grad=*/false, /*create_graph=*/true);
  Variable gx = x.grad();
  x.clear_grad();
  gx.backward();
  fmt::print("y = x^4 - 2x^2 at x = 2: y' = {}, y'' = {}\n", gx.item(), x.grad().item());

  // 2. Newton's method: x <- x - f'(x) / f''(x), both from autograd.
  fmt::print("Newton's method from x = 2:\n");
  x = scalar(2.0);
  for (int i = 0; i < 8; ++i) {
    fmt::print("  {} {:.16g}\n", i, x.item());
    x.clear_grad();
    quartic(x).backward(false, true);
    Variable g1 = x.grad();
    x.clear_grad();
    g1.backward();
    x.set_data(x.data() - g1.data() / x.grad().data());
  }

  // 3. n-th derivatives of sin at x = 1 (they cycle cos, -sin, -cos, sin) and of tanh.
  x = scalar(1.0);
  Variable g = F::sin(x);
  fmt::print("d^n/dx^n sin(x) at x = 1:\n");
  for (int n = 1; n <= 6; ++n) {
    g = derivative(g, x);
    fmt::print("  n = {}: {:+.16f}\n", n, g.item());
  }
  fmt::print("  (-sin(1) = {:+.16f})\n", -std::sin(1.0));
  g = F::tanh(x);
  fmt::print("d^n/dx^n tanh(x) at x = 1:\n");
  for (int n = 1; n <= 4; ++n) {
    g = derivative(g, x);
    fmt::print("  n = {}: {:+.16f}\n", n, g.item());
  }
  if (!graph.empty()) {
    dezero::plot_dot_graph(g, graph, false);
    spdlog::info("wrote the graph of tanh's 4th derivative to {}", graph);
  }

  // 4. Double backprop: z = (dy/dx)^3 + y with y = x^2; dz/dx = 24x^2 + 2x = 100 at x = 2.
  x = scalar(2.0);
  y = F::pow(x, 2.0);
  y.backward(false, true);
  Variable dy = x.grad();
  x.clear_grad();
  (F::pow(dy, 3.0) + y).backward();
  fmt::print("double backprop: dz/dx at x = 2 = {}\n", x.grad().item());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string graph;
  examples::Cli app{
      "Higher-order derivatives: y'' by autograd, Newton's method, n-th derivatives, double "
      "backprop"};
  app.add_option("--graph", graph,
                 "also draw the graph of tanh's 4th derivative to this file (.png, .svg or .dot)");
  return app.run(argc, argv, [&] { return demonstrate(graph); });
}
