// Bad input: every mismatch is a dezero::Error naming the op and the shapes involved.

#include "test_helpers.h"

namespace F = dezero::functions;
using namespace dezero;
using ::testing::HasSubstr;

namespace {

Variable V(const Shape& s, DType dt = Float64) { return Variable(Tensor::zeros(s, dt)); }

TEST(ErrorsTest, ShapeMismatches) {
  EXPECT_DZ_ERROR(V({2, 3}) + V({4}), HasSubstr("add"), HasSubstr("(2, 3)"), HasSubstr("(4,)"));
  EXPECT_DZ_ERROR(F::matmul(V({2, 3}), V({4, 5})), HasSubstr("matmul: inner dimensions differ"),
                  HasSubstr("(2, 3)"), HasSubstr("(4, 5)"));
  EXPECT_DZ_ERROR(F::matmul(V({3}), V({3, 2})), HasSubstr("matmul"), HasSubstr("(3,)"));
  EXPECT_DZ_ERROR(F::matmul(V({2, 2, 3}), V({3, 3, 1})), HasSubstr("matmul"), HasSubstr("(2,)"));
  EXPECT_DZ_ERROR(F::reshape(V({2, 3}), {4, 2}), HasSubstr("reshape"), HasSubstr("(2, 3)"), HasSubstr("(4, 2)"));
  EXPECT_DZ_ERROR(F::sum_to(V({2, 3}), {4}), HasSubstr("sum_to"), HasSubstr("(2, 3)"));
  EXPECT_DZ_ERROR(F::broadcast_to(V({2, 3}), {3, 3}), HasSubstr("broadcast_to"), HasSubstr("(3, 3)"));
  EXPECT_DZ_ERROR(F::transpose(V({2, 3}), {0, 0}), HasSubstr("transpose"), HasSubstr("(2, 3)"));
  EXPECT_DZ_ERROR(F::concat({V({2, 3}), V({3, 3})}, 1), HasSubstr("concat"), HasSubstr("(3, 3)"));
  EXPECT_DZ_ERROR(F::split(V({4, 2}), {1, 2}), HasSubstr("split"), HasSubstr("(4, 2)"));
  EXPECT_DZ_ERROR(F::sum(V({2, 3}), {2}), HasSubstr("sum"), HasSubstr("axis 2"));
  EXPECT_DZ_ERROR(F::linear(V({2, 3}), V({3, 4}), V({3})), HasSubstr("linear"), HasSubstr("(3,)"));
  EXPECT_DZ_ERROR(F::max(V({0, 3}), {0}), HasSubstr("max"), HasSubstr("(0, 3)"));
}

TEST(ErrorsTest, DtypeMismatchesNameBothDtypes) {
  EXPECT_DZ_ERROR(V({2, 3}, Float32) * V({2, 3}, Float64), HasSubstr("mul: dtype mismatch"),
                  HasSubstr("float32 (2, 3)"), HasSubstr("float64 (2, 3)"));
  EXPECT_DZ_ERROR(F::matmul(V({2, 3}, Float32), V({3, 2}, Float64)), HasSubstr("matmul"), HasSubstr("float32"));
}

TEST(ErrorsTest, IndexingErrors) {
  EXPECT_DZ_ERROR(F::get_item(V({3, 4}), {3}), HasSubstr("get_item"), HasSubstr("out of bounds"), HasSubstr("(3, 4)"));
  EXPECT_DZ_ERROR(F::get_item(V({3, 4}), {0, 0, 0}), HasSubstr("too many indices"), HasSubstr("(3, 4)"));
  EXPECT_DZ_ERROR(F::get_item(V({3, 4}), {Slice{0, 2, 0}}), HasSubstr("step"));
  EXPECT_DZ_ERROR(F::get_item(V({3, 4}), {std::vector<int64_t>{0, 1}, std::vector<int64_t>{0, 1, 2}}),
                  HasSubstr("cannot be broadcast"));
  EXPECT_DZ_ERROR(F::embed_id(Tensor::from_vector({0.5}), V({3, 2})), HasSubstr("non-integer"));
}

TEST(ErrorsTest, LossAndNormalizationErrors) {
  EXPECT_DZ_ERROR(F::softmax_cross_entropy(V({8, 10}), Tensor::zeros({8, 1})),
                  HasSubstr("softmax_cross_entropy: t must be (N,) labels for x (8, 10); got (8, 1)"));
  EXPECT_DZ_ERROR(F::softmax_cross_entropy(V({2, 3}), Tensor::from_vector({0, 3})),
                  HasSubstr("label 3"), HasSubstr("[0, 3)"));
  EXPECT_DZ_ERROR(F::softmax_cross_entropy(V({2, 3}), Tensor::from_vector({0, 1.5})), HasSubstr("label 1.5"));
  EXPECT_DZ_ERROR(F::accuracy(V({2, 3}), Tensor::zeros({3})), HasSubstr("accuracy"), HasSubstr("(3,)"));
  EXPECT_DZ_ERROR(F::dropout(V({2}), 1.0), HasSubstr("dropout"), HasSubstr("ratio"));
  EXPECT_DZ_ERROR(F::clip(V({2}), 1.0, -1.0), HasSubstr("clip"));
  Tensor m = Tensor::zeros({3}, Float64), v = Tensor::ones({3}, Float64);
  EXPECT_DZ_ERROR(F::batch_norm(V({4, 2}), V({2}), V({2}), m, v), HasSubstr("running_mean must be (2,)"),
                  HasSubstr("(4, 2)"));
  EXPECT_DZ_ERROR(F::batch_norm(V({4, 2, 3}), V({2}), V({2}), m, v), HasSubstr("batch_norm"), HasSubstr("(4, 2, 3)"));
  EXPECT_DZ_ERROR(F::mean_squared_error(V({2, 3}), V({3, 2})), HasSubstr("sub"), HasSubstr("(3, 2)"));
}

TEST(ErrorsTest, UndefinedValuesAndDevices) {
  EXPECT_DZ_ERROR(F::exp(Variable()), HasSubstr("exp"), HasSubstr("undefined"));
  EXPECT_DZ_ERROR(Variable().backward(), HasSubstr("backward"));
  EXPECT_DZ_ERROR(Variable(Tensor{}), HasSubstr("undefined"));
  EXPECT_DZ_ERROR(Tensor::zeros({2}).to(Device::CUDA), HasSubstr("cuda"));
  EXPECT_DZ_ERROR(Tensor::zeros({-1}), HasSubstr("negative dimension"));
  EXPECT_DZ_ERROR(Tensor::from_vector({1, 2, 3}, {2, 2}), HasSubstr("3 values"), HasSubstr("(2, 2)"));
}

TEST(ErrorsTest, MessagesCarryTheSourceLocation) {
  try {
    (void)(V({2}) + V({3}));
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::MatchesRegex(".*\\[shape\\.cpp:[0-9]+\\]$"));
  }
}

}  // namespace
