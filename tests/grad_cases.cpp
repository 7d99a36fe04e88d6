// Table-driven gradient checks: one row per differentiable function (grad_table.cpp), first
// order for every row, second order for every row marked twice differentiable (all of them).
// Float64, central differences, every input, random output projection (dezero::gradient_check).

#include "grad_table.h"

#include "dezero/functions/testing.h"

namespace {

class GradCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradCheck, Backward) {
  const GradCase& c = GetParam();
  EXPECT_GRADCHECK(c.f, inputs_for(c));
}

TEST_P(GradCheck, DoubleBackward) {
  const GradCase& c = GetParam();
  if (!c.second_order) GTEST_SKIP() << c.name << " is not twice differentiable";
  EXPECT_GRADGRADCHECK(c.f, inputs_for(c));
}

INSTANTIATE_TEST_SUITE_P(Functions, GradCheck, ::testing::ValuesIn(grad_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) { return info.param.name; });

}  // namespace
