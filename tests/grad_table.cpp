// The table of differentiable functions: one row per function (and per interesting option),
// with its input shapes and domain. grad_cases.cpp checks every row's gradients (first and
// second order); test_cuda.cpp runs every row on both devices and compares.

#include "grad_table.h"

namespace F = dezero::functions;
using dezero::Index;
using dezero::Shape;
using dezero::Slice;
using dezero::Tensor;
using dezero::Variable;
using Vars = std::vector<Variable>;

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

namespace {

dezero::GradCheckFunction unary(Variable (*f)(const Variable&)) {
  return [f](const Vars& v) { return f(v[0]); };
}

Tensor sample(const Shape& shape, const Domain& d) {
  Tensor t = Tensor::uniform(shape, d.lo, d.hi, dezero::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::fabs(p[i]) < d.min_abs) p[i] = p[i] < 0 ? -d.min_abs - 0.1 : d.min_abs + 0.1;
  return t;
}

const Tensor kLabels = Tensor::from_vector({2, 0, 1, 2}, dezero::Float64);
const Tensor kIds = Tensor::from_vector({1, 3, 1, 0, 2, 2}, {2, 3}, dezero::Float64);

// A constant on v's device and in its dtype (rows run on the CPU and on CUDA, in both dtypes).
Tensor like(const Tensor& t, const Variable& v) { return t.to(v.device()).to(v.dtype()); }
const Domain kPositive{0.5, 2.0};
const Domain kOffZero{-2, 2, 0.1};

Variable batch_norm_train(const Vars& v) {
  const int64_t C = v[0].size(1);
  Tensor mean = like(Tensor::zeros({C}, dezero::Float64), v[0]), var = like(Tensor::ones({C}, dezero::Float64), v[0]);
  return F::batch_norm(v[0], v[1], v[2], mean, var);
}

Variable batch_norm_test(const Vars& v) {
  dezero::TestModeGuard test;
  Tensor mean = like(Tensor::from_vector({0.1, -0.2, 0.3}, dezero::Float64), v[0]);
  Tensor var = like(Tensor::from_vector({0.5, 1.5, 2.0}, dezero::Float64), v[0]);
  return F::batch_norm(v[0], v[1], v[2], mean, var);
}

const std::vector<GradCase> kGradCases = {
    // ---- arithmetic and broadcasting ----
    {"add", [](const Vars& v) { return v[0] + v[1]; }, {{2, 3}, {2, 3}}},
    {"add_broadcast_nchw", [](const Vars& v) { return v[0] + v[1]; }, {{2, 3, 2, 2}, {1, 3, 1, 1}}},
    {"add_broadcast_outer", [](const Vars& v) { return v[0] + v[1]; }, {{4, 1}, {1, 3}}},
    {"add_scalar_variable", [](const Vars& v) { return v[0] + v[1]; }, {{2, 3}, {}}},
    {"sub_broadcast", [](const Vars& v) { return v[0] - v[1]; }, {{2, 3}, {2, 1}}},
    {"mul_broadcast", [](const Vars& v) { return v[0] * v[1]; }, {{2, 3, 2, 2}, {1, 3, 1, 1}}},
    {"div", [](const Vars& v) { return v[0] / v[1]; }, {{3, 2}, {3, 2}}, kPositive},
    {"div_broadcast", [](const Vars& v) { return v[0] / v[1]; }, {{3, 2}, {1, 2}}, kPositive},
    {"neg", [](const Vars& v) { return -v[0]; }, {{2, 3}}},
    {"pow", [](const Vars& v) { return F::pow(v[0], 3.0); }, {{2, 3}}},
    {"pow_fractional", [](const Vars& v) { return F::pow(v[0], 0.5); }, {{2, 3}}, kPositive},
    {"scalar_operators", [](const Vars& v) { return 2.0 * v[0] - 1.0 + 3.0 / (v[0] + 3.0); }, {{3}}},
    {"sum_to", [](const Vars& v) { return F::sum_to(v[0], {1, 3}); }, {{4, 2, 3}}},
    {"broadcast_to", [](const Vars& v) { return F::broadcast_to(v[0], {2, 3, 4}); }, {{3, 1}}},
    // ---- math ----
    {"sin", unary(F::sin), {{3, 4}}},
    {"cos", unary(F::cos), {{3, 4}}},
    {"tanh", unary(F::tanh), {{3, 4}}},
    {"exp", unary(F::exp), {{3, 4}}},
    {"log", unary(F::log), {{3, 4}}, kPositive},
    {"sqrt", unary(F::sqrt), {{3, 4}}, kPositive},
    {"square", unary(F::square), {{3, 4}}},
    // ---- shape ----
    {"reshape", [](const Vars& v) { return F::reshape(v[0], {3, -1}); }, {{2, 3, 2}}},
    {"transpose", [](const Vars& v) { return F::transpose(v[0]); }, {{2, 3}}},
    {"transpose_axes", [](const Vars& v) { return F::transpose(v[0], {1, 2, 0}); }, {{2, 3, 4}}},
    {"get_item_int", [](const Vars& v) { return F::get_item(v[0], {1}); }, {{3, 4}}},
    {"get_item_slice", [](const Vars& v) { return F::get_item(v[0], {Slice{}, Slice{3, 0, -2}}); }, {{3, 4}}},
    {"get_item_array_repeats", [](const Vars& v) { return F::get_item(v[0], {std::vector<int64_t>{0, 2, 0}}); }, {{3, 4}}},
    {"get_item_paired_arrays", [](const Vars& v) { return F::get_item(v[0], {std::vector<int64_t>{0, 1, 2}, std::vector<int64_t>{3, 0, 3}}); }, {{3, 4}}},
    {"expand_dims", [](const Vars& v) { return F::expand_dims(v[0], 1); }, {{2, 3}}},
    {"flatten", unary(F::flatten), {{2, 3, 2}}},
    {"concat", [](const Vars& v) { return F::concat({v[0], v[1], v[2]}, 1); }, {{2, 1}, {2, 3}, {2, 2}}},
    {"split", [](const Vars& v) { auto p = F::split(v[0], {1, 2}, 1); return F::concat({p[1] * p[1], F::sin(p[0])}, 1); }, {{2, 3}}},
    {"split_one_piece_used", [](const Vars& v) { return F::split(v[0], {2, 2}, 0)[1]; }, {{4, 2}}},
    {"embed_id", [](const Vars& v) { return F::embed_id(like(kIds, v[0]), v[0]); }, {{4, 3}}},
    // ---- reductions ----
    {"sum_all", [](const Vars& v) { return F::sum(v[0]); }, {{2, 3}}},
    {"sum_axis", [](const Vars& v) { return F::sum(v[0], {1}); }, {{2, 3, 2}}},
    {"sum_axes_keepdims", [](const Vars& v) { return F::sum(v[0], {0, 2}, true); }, {{2, 3, 2}}},
    {"mean", [](const Vars& v) { return F::mean(v[0], {0}); }, {{4, 3}}},
    {"max_axis", [](const Vars& v) { return F::max(v[0], {1}); }, {{3, 4}}},
    {"max_all", [](const Vars& v) { return F::max(v[0]); }, {{3, 4}}},
    {"min_axis_keepdims", [](const Vars& v) { return F::min(v[0], {0}, true); }, {{3, 4}}},
    // ---- matrix products ----
    {"matmul", [](const Vars& v) { return F::matmul(v[0], v[1]); }, {{3, 4}, {4, 2}}},
    {"matmul_batched_broadcast", [](const Vars& v) { return F::matmul(v[0], v[1]); }, {{2, 1, 3, 4}, {5, 4, 2}}},
    {"matmul_transposed", [](const Vars& v) { return F::matmul(v[0], v[1], true, true); }, {{2, 4, 3}, {2, 2, 4}}},
    {"linear", [](const Vars& v) { return F::linear(v[0], v[1], v[2]); }, {{3, 4}, {4, 2}, {2}}},
    {"linear_no_bias", [](const Vars& v) { return F::linear(v[0], v[1]); }, {{3, 4}, {4, 2}}},
    // ---- activations ----
    {"sigmoid", unary(F::sigmoid), {{3, 4}}},
    {"relu", unary(F::relu), {{3, 4}}, kOffZero},
    // Its gradient's own backward (ReLUGrad w.r.t. the incoming gradient) is reached only when that
    // gradient depends on x: second order of relu(x) * x.
    {"relu_times_input", [](const Vars& v) { return F::relu(v[0]) * v[0]; }, {{3, 4}}, kOffZero},
    {"leaky_relu", [](const Vars& v) { return F::leaky_relu(v[0], 0.1); }, {{3, 4}}, kOffZero},
    {"softmax", [](const Vars& v) { return F::softmax(v[0]); }, {{3, 4}}},
    {"softmax_last_axis", [](const Vars& v) { return F::softmax(v[0], -1); }, {{2, 3, 4}}},
    {"log_softmax", [](const Vars& v) { return F::log_softmax(v[0]); }, {{3, 4}}},
    {"clip", [](const Vars& v) { return F::clip(v[0], -1.0, 1.0); }, {{4, 4}}},
    // ---- losses ----
    {"mean_squared_error", [](const Vars& v) { return F::mean_squared_error(v[0], v[1]); }, {{4, 2}, {4, 2}}},
    {"softmax_cross_entropy", [](const Vars& v) { return F::softmax_cross_entropy(v[0], like(kLabels, v[0])); }, {{4, 3}}},
    {"sigmoid_cross_entropy", [](const Vars& v) { return F::sigmoid_cross_entropy(v[0], v[1]); }, {{4, 1}, {4, 1}}},
    {"binary_cross_entropy", [](const Vars& v) { return F::binary_cross_entropy(F::sigmoid(v[0]), F::sigmoid(v[1])); }, {{4}, {4}}},
    // ---- regularization and normalization ----
    {"dropout", [](const Vars& v) { dezero::manual_seed(3); return F::dropout(v[0], 0.3); }, {{4, 5}}},
    {"batch_norm_2d", batch_norm_train, {{5, 3}, {3}, {3}}},
    {"batch_norm_4d", batch_norm_train, {{2, 3, 2, 2}, {3}, {3}}},
    {"batch_norm_test_mode", batch_norm_test, {{4, 3}, {3}, {3}}},
    // ---- convolution and pooling ----
    {"im2col", [](const Vars& v) { return F::im2col(v[0], {2, 3}, {.stride = {1, 2}, .pad = 1, .dilation = {2, 1}}); }, {{2, 2, 5, 6}}},
    {"im2col_to_matrix", [](const Vars& v) { return F::im2col(v[0], 2, {.stride = 2, .to_matrix = true}); }, {{1, 2, 4, 4}}},
    {"col2im", [](const Vars& v) { return F::col2im(v[0], {2, 2, 5, 6}, {2, 3}, {.stride = {1, 2}, .pad = 1, .dilation = {2, 1}}); }, {{2, 12, 15}}},
    {"conv2d", [](const Vars& v) { return F::conv2d(v[0], v[1], v[2], {.pad = 1}); }, {{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}},
    {"conv2d_groups2_stride2", [](const Vars& v) { return F::conv2d(v[0], v[1], v[2], {.stride = 2, .pad = 1, .groups = 2}); }, {{2, 4, 6, 5}, {6, 2, 3, 3}, {6}}},
    {"conv2d_depthwise", [](const Vars& v) { return F::conv2d(v[0], v[1], {}, {.pad = 1, .groups = 3}); }, {{1, 3, 5, 4}, {3, 1, 3, 3}}},
    {"conv2d_dilation2", [](const Vars& v) { return F::conv2d(v[0], v[1], {}, {.pad = {2, 1}, .dilation = 2}); }, {{1, 2, 6, 6}, {3, 2, 3, 2}}},
    {"conv2d_pointwise", [](const Vars& v) { return F::conv2d(v[0], v[1], v[2]); }, {{2, 3, 3, 4}, {5, 3, 1, 1}, {5}}},
    {"conv2d_simple", [](const Vars& v) { return F::conv2d_simple(v[0], v[1], v[2], {.stride = 2, .groups = 2}); }, {{1, 4, 5, 5}, {4, 2, 3, 3}, {4}}},
    {"deconv2d", [](const Vars& v) { return F::deconv2d(v[0], v[1], v[2], {.stride = 2, .pad = 1, .output_padding = 1}); }, {{2, 3, 3, 3}, {3, 2, 3, 3}, {2}}},
    {"deconv2d_dilated_output_padding", [](const Vars& v) { return F::deconv2d(v[0], v[1], v[2], {.stride = {1, 2}, .dilation = 2, .output_padding = 1}); }, {{1, 2, 3, 3}, {2, 3, 2, 2}, {3}}},
    {"deconv2d_groups_dilation", [](const Vars& v) { return F::deconv2d(v[0], v[1], {}, {.stride = {2, 1}, .dilation = 2, .groups = 2}); }, {{1, 4, 3, 4}, {4, 1, 2, 3}}},
    {"max_pool2d", [](const Vars& v) { return F::max_pool2d(v[0], 2); }, {{2, 2, 4, 6}}},
    {"max_pool2d_overlapping_padded", [](const Vars& v) { return F::max_pool2d(v[0], 3, {.stride = 2, .pad = 1}); }, {{1, 2, 5, 5}}},
    {"avg_pool2d", [](const Vars& v) { return F::avg_pool2d(v[0], 3, {.stride = 2, .pad = 1}); }, {{1, 2, 5, 6}}},
    {"global_avg_pool2d", unary(F::global_avg_pool2d), {{2, 3, 3, 4}}},
    {"deconv2d_stride1_output_padding_pad", [](const Vars& v) { return F::deconv2d(v[0], v[1], v[2], {.pad = {1, 1}, .dilation = {2, 3}, .output_padding = {1, 2}}); }, {{1, 2, 3, 4}, {2, 2, 3, 2}, {2}}},
    {"deconv2d_output_padding_past_stride", [](const Vars& v) { return F::deconv2d(v[0], v[1], v[2], {.stride = 2, .pad = 1, .dilation = 3, .output_padding = 2}); }, {{1, 2, 3, 3}, {2, 2, 2, 3}, {2}}},
    {"max_pool2d_ceil_mode_dilated", [](const Vars& v) { return F::max_pool2d(v[0], {2, 3}, {.stride = 2, .pad = {1, 0}, .dilation = {2, 1}, .ceil_mode = true}); }, {{1, 2, 6, 7}}},
    {"avg_pool2d_ceil_exclude_pad", [](const Vars& v) { return F::avg_pool2d(v[0], 3, {.stride = 2, .pad = 1, .ceil_mode = true, .count_include_pad = false}); }, {{1, 2, 6, 5}}},
    {"avg_pool2d_divisor_override", [](const Vars& v) { return F::avg_pool2d(v[0], 2, {.stride = 1, .divisor_override = 3}); }, {{1, 2, 4, 3}}},
    {"pad2d_zeros", [](const Vars& v) { return F::pad2d(v[0], {1, 0, 2, 1}); }, {{2, 2, 3, 3}}},
    {"pad2d_reflect", [](const Vars& v) { return F::pad2d(v[0], {2, 1, 1, 3}, F::PaddingMode::Reflect); }, {{1, 2, 3, 4}}},
    {"pad2d_replicate", [](const Vars& v) { return F::pad2d(v[0], {3, 1, 0, 2}, F::PaddingMode::Replicate); }, {{1, 2, 2, 3}}},
    {"pad2d_circular", [](const Vars& v) { return F::pad2d(v[0], {2, 1, 3, 1}, F::PaddingMode::Circular); }, {{1, 1, 3, 3}}},
    {"conv2d_padding_reflect", [](const Vars& v) { return F::conv2d(v[0], v[1], v[2], {.pad = {1, 2}, .padding_mode = F::PaddingMode::Reflect}); }, {{1, 2, 4, 4}, {3, 2, 3, 3}, {3}}},
    {"conv2d_same_even_kernel_circular", [](const Vars& v) { return F::conv2d(v[0], v[1], {}, {.dilation = {1, 3}, .groups = 2, .padding_mode = F::PaddingMode::Circular, .same = true}); }, {{1, 4, 4, 5}, {2, 2, 2, 2}}},
};

}  // namespace

const std::vector<GradCase>& grad_cases() { return kGradCases; }

std::vector<Tensor> inputs_for(const GradCase& c) {
  dezero::manual_seed(42);
  std::vector<Tensor> xs;
  for (const Shape& s : c.shapes) xs.push_back(sample(s, c.domain));
  return xs;
}
