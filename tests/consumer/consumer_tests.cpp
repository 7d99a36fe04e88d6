// A user's own test of a composite function with the installed EXPECT_GRADCHECK helpers.
#include <dezero/dezero.h>
#include <dezero/functions/testing.h>

namespace F = dezero::functions;

TEST(ConsumerTest, SwishPassesGradientChecks) {
  auto swish = [](const std::vector<dezero::Variable>& v) { return v[0] * F::sigmoid(v[0]); };
  dezero::manual_seed(0);
  EXPECT_GRADCHECK(swish, {dezero::Tensor::randn({3, 4}, dezero::Float64)});
  EXPECT_GRADGRADCHECK(swish, {dezero::Tensor::randn({3, 4}, dezero::Float64)});
}
