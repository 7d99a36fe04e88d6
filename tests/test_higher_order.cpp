// Higher-order derivatives: the book's numbers (DeZero steps 29-36).

#include "test_helpers.h"

namespace F = dezero::functions;
using namespace dezero;

namespace {

Variable f(const Variable& x) { return F::pow(x, 4.0) - 2.0 * F::pow(x, 2.0); }

TEST(HigherOrderTest, FirstAndSecondDerivativeOfQuartic) {
  Variable x(Tensor::scalar(2.0, Float64));
  Variable y = f(x);
  y.backward(false, /*create_graph=*/true);
  Variable gx = x.grad();
  EXPECT_DOUBLE_EQ(gx.item(), 24.0);
  x.clear_grad();
  gx.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 44.0);
}

TEST(HigherOrderTest, NewtonsMethodWithAutomaticSecondDerivatives) {
  const std::vector<double> expected = {2, 1.4545454545454546, 1.1510467893775467, 1.0253259289766978,
                                        1.0009084519430513, 1.0000012353089454, 1.000000000002289, 1.0};
  Variable x(Tensor::scalar(2.0, Float64));
  for (double want : expected) {
    EXPECT_NEAR(x.item(), want, 1e-12);
    x.clear_grad();
    Variable y = f(x);
    y.backward(false, true);
    Variable gx = x.grad();
    x.clear_grad();
    gx.backward();
    Variable gx2 = x.grad();
    x.set_data(x.data() - gx.data() / gx2.data());
  }
}

TEST(HigherOrderTest, SixthDerivativeOfSinIsMinusSin) {
  Variable x(Tensor::scalar(1.0, Float64));
  F::sin(x).backward(false, true);
  for (int n = 2; n <= 6; ++n) {
    Variable g = x.grad();
    x.clear_grad();
    g.backward(false, true);
  }
  EXPECT_NEAR(x.grad().item(), -std::sin(1.0), 1e-12);
  x.clear_grad();  // a grad with a graph references x: x -> grad -> graph -> x (as in PyTorch)
}

TEST(HigherOrderTest, TanhDerivativesMatchClosedForms) {
  const double t = std::tanh(0.7);
  const std::vector<double> closed = {1 - t * t, -2 * t * (1 - t * t), (6 * t * t - 2) * (1 - t * t),
                                      8 * t * (2 - 3 * t * t) * (1 - t * t)};
  Variable x(Tensor::scalar(0.7, Float64));
  Variable g = F::tanh(x);
  for (double want : closed) {
    g = dezero::grad({g}, {x}, /*create_graph=*/true)[0];
    EXPECT_NEAR(g.item(), want, 1e-12);
  }
}

TEST(HigherOrderTest, DoubleBackprop) {
  // DeZero step 36: y = x^2, z = (dy/dx)^3 + y, dz/dx = 24 x^2 + 2 x = 100 at x = 2.
  Variable x(Tensor::scalar(2.0, Float64));
  Variable y = F::pow(x, 2.0);
  y.backward(false, true);
  Variable gx = x.grad();
  x.clear_grad();
  Variable z = F::pow(gx, 3.0) + y;
  z.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 100.0);
}

}  // namespace
