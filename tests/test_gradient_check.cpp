// The gradient checker itself: it must fail on wrong backward code, on backward code that
// ignores gy, on vacuous all-zero gradients, and on wrong second derivatives.

#include "test_helpers.h"

#include "dezero/functions/testing.h"

namespace F = dezero::functions;
using namespace dezero;
using Vars = std::vector<Variable>;

namespace {

// y = x^3 with a configurable (possibly wrong) backward.
enum class Bug { None, WrongFactor, IgnoresGy, ConstantInBackward };

class Cube final : public Function {
 public:
  explicit Cube(Bug bug) : bug_(bug) {}
  std::string name() const override { return "cube"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::mul(ops::square(xs[0]), xs[0])};
  }
  // dy/dx = 3 x^2
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable& x = input(0);
    switch (bug_) {
      case Bug::None: return {gys[0] * 3.0 * x * x};
      case Bug::WrongFactor: return {gys[0] * 2.0 * x * x};
      case Bug::IgnoresGy: return {3.0 * x * x};
      case Bug::ConstantInBackward:  // right value, but x enters as a constant: no 2nd order
        return {gys[0] * Variable::constant(ops::mul(ops::square(x.data()), ops::scalar_like(x.data(), 3.0)))};
    }
    return {};
  }

 private:
  Bug bug_;
};

GradCheckFunction cube(Bug bug) {
  return [bug](const Vars& v) { return call<Cube>(v[0], bug); };
}

const std::vector<Tensor> kInput = {Tensor::from_vector({0.5, -1.2, 1.7, 0.9}, {2, 2}, Float64)};

TEST(GradientCheckTest, PassesOnCorrectCode) {
  EXPECT_GRADCHECK(cube(Bug::None), kInput);
  EXPECT_GRADGRADCHECK(cube(Bug::None), kInput);
}

TEST(GradientCheckTest, FailsOnAWrongDerivativeAndNamesTheElement) {
  const GradCheckReport r = gradient_check(cube(Bug::WrongFactor), kInput);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.input, 0);
  EXPECT_EQ(r.input_shape, (Shape{2, 2}));
  EXPECT_EQ(r.position, (std::vector<int64_t>{1, 0}));  // |x| largest at 1.7
  std::ostringstream os;
  os << r;
  EXPECT_THAT(os.str(), ::testing::HasSubstr("FAILED for 'cube'"));
  EXPECT_THAT(os.str(), ::testing::HasSubstr("input 0 of shape (2, 2) at (1, 0)"));
}

TEST(GradientCheckTest, FailsWhenBackwardIgnoresTheOutputGradient) {
  EXPECT_FALSE(gradient_check(cube(Bug::IgnoresGy), kInput).ok);
}

TEST(GradientCheckTest, RefusesVacuousAllZeroGradients) {
  auto flat = [](const Vars& v) { return F::relu(v[0]); };
  const std::vector<Tensor> negative = {Tensor::from_vector({-1.0, -2.0}, Float64)};
  const GradCheckReport r = gradient_check(flat, negative);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, ::testing::HasSubstr("zero"));
  GradCheckOptions allow;
  allow.allow_zero = true;
  EXPECT_TRUE(gradient_check(flat, negative, allow).ok);
}

// A wrong first derivative whose own derivative is consistent with it (2 x^2 for 3 x^2
// differentiates to 4 x, which the second-order check alone accepts) fails gradgrad_check too:
// it runs the first-order check first and says so.
TEST(GradientCheckTest, SecondOrderCheckRunsTheFirstOrderOneFirst) {
  const GradCheckReport r = gradgrad_check(cube(Bug::WrongFactor), kInput);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.order, 1);
  std::ostringstream os;
  os << r;
  EXPECT_THAT(os.str(), ::testing::HasSubstr("gradient_check FAILED for 'cube'"));
  EXPECT_THAT(os.str(), ::testing::HasSubstr("second-order check was not run"));
  EXPECT_FALSE(gradgrad_check(cube(Bug::IgnoresGy), kInput).ok);
}

TEST(GradientCheckTest, SecondOrderCatchesConstantsInBackward) {
  EXPECT_TRUE(gradient_check(cube(Bug::ConstantInBackward), kInput).ok);
  const GradCheckReport r = gradgrad_check(cube(Bug::ConstantInBackward), kInput);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.order, 2);
}

TEST(GradientCheckTest, ChecksEveryInputAndSkipsConstants) {
  // A backward that forgets the second input's gradient fails on input 1.
  struct HalfMul final : Function {
    std::string name() const override { return "half_mul"; }
    std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {ops::mul(xs[0], xs[1])}; }
    std::vector<Variable> backward(const std::vector<Variable>& gys) override {
      return {gys[0] * input(1), Variable()};
    }
  };
  auto f = [](const Vars& v) { return call<HalfMul>({v[0], v[1]}); };
  const std::vector<Tensor> xs = {Tensor::from_vector({1.0, 2.0}, Float64), Tensor::from_vector({3.0, -1.0}, Float64)};
  const GradCheckReport r = gradient_check(f, xs);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.input, 1);
  GradCheckOptions o;
  o.constant_inputs = {1};
  EXPECT_TRUE(gradient_check(f, xs, o).ok);
}

TEST(GradientCheckTest, ConvertsFloat32InputsToFloat64) {
  EXPECT_GRADCHECK([](const Vars& v) { return F::tanh(v[0]) * v[1]; },
                   {Tensor::from_vector({0.1f, 0.2f}), Tensor::from_vector({1.0f, -1.0f})});
}

}  // namespace
