// Tensor-level ops against naive loops, on sizes that take both the serial and the parallel
// kernel paths, plus hand-computed broadcasting cases.

#include "test_helpers.h"

using namespace dezero;
using dezero::testing::T64;
using ::testing::HasSubstr;

namespace {

// Element of x (contiguous) at a multi-index.
double elem(const std::vector<double>& v, const Shape& s, const std::vector<int64_t>& idx) {
  int64_t flat = 0;
  for (size_t i = 0; i < s.size(); ++i) flat = flat * s[i] + idx[i];
  return v[flat];
}

// Calls f(index) for every multi-index of shape s, row-major.
template <class F>
void for_each_index(const Shape& s, F f) {
  std::vector<int64_t> idx(s.size(), 0);
  for (int64_t n = 0; n < numel(s); ++n) {
    f(idx);
    for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
}

TEST(OpsTest, BroadcastingHandCases) {
  Tensor a = T64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TENSOR_NEAR(ops::add(a, T64({10, 20, 30}, {3})), T64({11, 22, 33, 14, 25, 36}, {2, 3}), 0);
  EXPECT_TENSOR_NEAR(ops::mul(a, T64({2, 3}, {2, 1})), T64({2, 4, 6, 12, 15, 18}, {2, 3}), 0);
  EXPECT_TENSOR_NEAR(ops::sub(T64({1, 2}, {2, 1}), T64({10, 20, 30}, {1, 3})),
                     T64({-9, -19, -29, -8, -18, -28}, {2, 3}), 0);
  EXPECT_TENSOR_NEAR(ops::div(Tensor::scalar(6, Float64), T64({1, 2, 3}, {3})), T64({6, 3, 2}, {3}), 0);
  EXPECT_TENSOR_NEAR(ops::maximum(a, Tensor::scalar(3.5, Float64)), T64({3.5, 3.5, 3.5, 4, 5, 6}, {2, 3}), 0);
  EXPECT_TENSOR_NEAR(ops::ge(a, Tensor::scalar(4, Float64)), T64({0, 0, 0, 1, 1, 1}, {2, 3}), 0);
}

TEST(OpsTest, BroadcastingMatchesNaiveOnLargeNchw) {
  manual_seed(1);
  const Shape xs{8, 16, 20, 20}, bs{1, 16, 1, 1};
  Tensor x = Tensor::randn(xs, Float64), b = Tensor::randn(bs, Float64);
  const auto y = ops::add(x, b).to_vector(), xv = x.to_vector(), bv = b.to_vector();
  size_t k = 0;
  for_each_index(xs, [&](const std::vector<int64_t>& i) {
    ASSERT_DOUBLE_EQ(y[k++], elem(xv, xs, i) + bv[i[1]]);
  });
  // (N, 1) against (1, M), float32, large enough to run in parallel.
  Tensor c = Tensor::randn({300, 1}), r = Tensor::randn({1, 400});
  const auto o = ops::mul(c, r).to_vector(), cv = c.to_vector(), rv = r.to_vector();
  for (int i = 0; i < 300; i += 7)
    for (int j = 0; j < 400; j += 13) ASSERT_FLOAT_EQ(o[i * 400 + j], static_cast<float>(cv[i]) * static_cast<float>(rv[j]));
}

TEST(OpsTest, ReductionsMatchNaiveForEveryAxisSet) {
  manual_seed(2);
  const Shape s{6, 5, 40, 30};  // 36000 elements: above the parallel grain
  Tensor x = Tensor::randn(s, Float64);
  const auto xv = x.to_vector();
  const std::vector<std::vector<int64_t>> axis_sets = {{}, {0}, {1}, {3}, {0, 2, 3}, {1, 2}, {0, 3}, {-1, -2}};
  for (const auto& axes : axis_sets) {
    const auto ax = normalize_axes(axes, 4, "test");
    Shape ks = s;
    for (int64_t a : ax) ks[a] = 1;
    std::vector<double> sum(numel(ks), 0), mx(numel(ks), -INFINITY);
    for_each_index(s, [&](const std::vector<int64_t>& i) {
      std::vector<int64_t> o = i;
      for (int64_t a : ax) o[a] = 0;
      int64_t flat = 0;
      for (size_t d = 0; d < 4; ++d) flat = flat * ks[d] + o[d];
      sum[flat] += elem(xv, s, i);
      mx[flat] = std::max(mx[flat], elem(xv, s, i));
    });
    EXPECT_TENSOR_NEAR(ops::sum(x, axes, true), Tensor::from_vector(sum, ks, Float64), 1e-9);
    EXPECT_TENSOR_NEAR(ops::max(x, axes, true), Tensor::from_vector(mx, ks, Float64), 0);
  }
  EXPECT_EQ(ops::sum(x, {1, 3}).shape(), (Shape{6, 40}));
  EXPECT_NEAR(ops::mean(x, {0, 1, 2, 3}).item(), ops::sum(x).item() / x.numel(), 1e-12);
  EXPECT_TENSOR_NEAR(ops::min(T64({3, -1, 2, 5}, {2, 2}), {1}), T64({-1, 2}, {2}), 0);
}

TEST(OpsTest, ArgmaxTakesTheFirstMaximum) {
  Tensor x = T64({1, 5, 5, 0, 7, 2, -1, -3}, {2, 4});
  EXPECT_TENSOR_NEAR(ops::argmax(x, 1), T64({1, 0}, {2}), 0);
  EXPECT_TENSOR_NEAR(ops::argmax(x, 0), T64({1, 0, 0, 0}, {4}), 0);
  EXPECT_TENSOR_NEAR(ops::argmin(x, -1, true), T64({3, 3}, {2, 1}), 0);
}

TEST(OpsTest, SumToAndBroadcastToAreInverses) {
  Tensor x = T64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TENSOR_NEAR(ops::sum_to(x, {1, 3}), T64({5, 7, 9}, {1, 3}), 0);
  EXPECT_TENSOR_NEAR(ops::sum_to(x, {3}), T64({5, 7, 9}, {3}), 0);
  EXPECT_TENSOR_NEAR(ops::sum_to(x, {2, 1}), T64({6, 15}, {2, 1}), 0);
  EXPECT_TENSOR_NEAR(ops::sum_to(x, {}), Tensor::scalar(21, Float64), 0);
  EXPECT_TENSOR_NEAR(ops::broadcast_to(T64({1, 2}, {2, 1}), {2, 3}), T64({1, 1, 1, 2, 2, 2}, {2, 3}), 0);
}

TEST(OpsTest, TransposeMatchesNaive) {
  manual_seed(3);
  for (const Shape& s : {Shape{300, 200}, Shape{3, 70, 90}, Shape{2, 3, 4, 5}}) {
    Tensor x = Tensor::randn(s, Float64);
    std::vector<int64_t> perm(s.size());
    for (size_t i = 0; i < s.size(); ++i) perm[i] = static_cast<int64_t>((i + 1) % s.size());
    Tensor y = ops::transpose(x, perm);
    const auto xv = x.to_vector(), yv = y.to_vector();
    size_t k = 0;
    for_each_index(y.shape(), [&](const std::vector<int64_t>& i) {
      std::vector<int64_t> src(s.size());
      for (size_t d = 0; d < s.size(); ++d) src[perm[d]] = i[d];
      ASSERT_EQ(yv[k++], elem(xv, s, src));
    });
  }
  Tensor m = T64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TENSOR_NEAR(ops::transpose(m), T64({1, 4, 2, 5, 3, 6}, {3, 2}), 0);
}

// Naive batched matmul with broadcasting for reference.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  Shape batch = broadcast_shape(Shape(a.shape().begin(), a.shape().end() - 2),
                                Shape(b.shape().begin(), b.shape().end() - 2), "naive");
  Tensor A = ops::broadcast_to(a, [&] { Shape s = batch; s.push_back(M); s.push_back(K); return s; }());
  Tensor B = ops::broadcast_to(b, [&] { Shape s = batch; s.push_back(K); s.push_back(N); return s; }());
  const auto av = A.to_vector(), bv = B.to_vector();
  std::vector<double> c(numel(batch) * M * N, 0);
  for (int64_t p = 0; p < numel(batch); ++p)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        for (int64_t k = 0; k < K; ++k) c[(p * M + i) * N + j] += av[(p * M + i) * K + k] * bv[(p * K + k) * N + j];
  Shape s = batch;
  s.push_back(M);
  s.push_back(N);
  return Tensor::from_vector(c, s, Float64);
}

TEST(OpsTest, MatmulMatchesNaive) {
  manual_seed(4);
  Tensor a = Tensor::randn({130, 70}, Float64), b = Tensor::randn({70, 90}, Float64);
  EXPECT_TENSOR_NEAR(ops::matmul(a, b), naive_matmul(a, b), 1e-10);
  Tensor p = Tensor::randn({2, 1, 5, 7}, Float64), q = Tensor::randn({3, 7, 4}, Float64);
  EXPECT_TENSOR_NEAR(ops::matmul(p, q), naive_matmul(p, q), 1e-10);
  // Transposed operands equal explicit transposes.
  Tensor at = ops::transpose(a), bt = ops::transpose(b);
  EXPECT_TENSOR_NEAR(ops::matmul(at, bt, true, true), naive_matmul(a, b), 1e-10);
  EXPECT_TENSOR_NEAR(ops::matmul(a, bt, false, true), naive_matmul(a, b), 1e-10);
  // float32 at a GEMM size that Eigen runs multithreaded.
  Tensor x = Tensor::randn({256, 256}), w = Tensor::randn({256, 256});
  EXPECT_TENSOR_NEAR(ops::matmul(x, w), naive_matmul(x.to(Float64), w.to(Float64)), 1e-3);
  EXPECT_TENSOR_NEAR(ops::matmul(T64({1, 2, 3, 4}, {2, 2}), T64({5, 6, 7, 8}, {2, 2})),
                     T64({19, 22, 43, 50}, {2, 2}), 0);
}

TEST(OpsTest, ConcatAndSplitRoundTrip) {
  Tensor a = T64({1, 2, 3, 4}, {2, 2}), b = T64({5, 6}, {2, 1});
  Tensor c = ops::concat({a, b}, 1);
  EXPECT_TENSOR_NEAR(c, T64({1, 2, 5, 3, 4, 6}, {2, 3}), 0);
  auto parts = ops::split(c, {2, 1}, -1);
  EXPECT_TENSOR_NEAR(parts[0], a, 0);
  EXPECT_TENSOR_NEAR(parts[1], b, 0);
  EXPECT_TENSOR_NEAR(ops::concat({a, a}, 0), T64({1, 2, 3, 4, 1, 2, 3, 4}, {4, 2}), 0);
}

TEST(OpsTest, IndexingFollowsNumPy) {
  Tensor x = Tensor::arange(0, 12, 1, Float64).reshape({3, 4});
  auto get = [&](const IndexList& ix) { return ops::gather(x, resolve_index(x.shape(), ix)); };
  EXPECT_TENSOR_NEAR(get({1}), T64({4, 5, 6, 7}, {4}), 0);
  EXPECT_TENSOR_NEAR(get({-1, 2}), Tensor::scalar(10, Float64), 0);
  EXPECT_TENSOR_NEAR(get({Slice{}, Slice{1, std::nullopt, 2}}), T64({1, 3, 5, 7, 9, 11}, {3, 2}), 0);
  EXPECT_TENSOR_NEAR(get({Slice{std::nullopt, std::nullopt, -1}, 0}), T64({8, 4, 0}, {3}), 0);
  EXPECT_TENSOR_NEAR(get({std::vector<int64_t>{2, 0}}), T64({8, 9, 10, 11, 0, 1, 2, 3}, {2, 4}), 0);
  // Paired arrays pick elements: x[[0, 1, 2], [3, 0, 1]].
  EXPECT_TENSOR_NEAR(get({std::vector<int64_t>{0, 1, 2}, std::vector<int64_t>{3, 0, 1}}), T64({3, 4, 9}, {3}), 0);
  // An array after a slice stays in place: x[:, [0, 3]] -> (3, 2).
  EXPECT_TENSOR_NEAR(get({Slice{}, std::vector<int64_t>{0, 3}}), T64({0, 3, 4, 7, 8, 11}, {3, 2}), 0);
  EXPECT_EQ(get({Slice{5, 9}}).shape(), (Shape{0, 4}));
  // Scatter-add accumulates repeated indices.
  const ResolvedIndex rep = resolve_index({3}, {std::vector<int64_t>{1, 1, 2}});
  EXPECT_TENSOR_NEAR(ops::scatter_add(T64({1, 2, 3}, {3}), rep), T64({0, 3, 3}, {3}), 0);
  // Only slices and integers promise distinct offsets (which lets the scatter run in parallel).
  EXPECT_FALSE(rep.unique);
  EXPECT_TRUE(resolve_index(x.shape(), {Slice{std::nullopt, std::nullopt, -1}, 1}).unique);
  EXPECT_FALSE(resolve_index(x.shape(), {Slice{}, std::vector<int64_t>{0, 1}}).unique);
  // A slice's scatter large enough to be split across threads: x[::2, 1:] of a 300 x 301.
  const ResolvedIndex half = resolve_index({300, 301}, {Slice{std::nullopt, std::nullopt, 2}, Slice{1, std::nullopt}});
  const Tensor g = Tensor::arange(1, 150 * 300 + 1, 1, Float64).reshape({150, 300});
  const std::vector<double> got = ops::scatter_add(g, half).to_vector();
  for (int64_t r = 0; r < 300; ++r)
    for (int64_t c = 0; c < 301; ++c)
      ASSERT_EQ(got[r * 301 + c], r % 2 == 0 && c >= 1 ? static_cast<double>((r / 2) * 300 + c) : 0.0) << r << "," << c;
}

// An index whose offsets a GPU kept (max pooling's argmax on CUDA) cannot index a CPU tensor:
// a clear error naming the op and the shape, not a read of the empty host offsets.
TEST(OpsTest, AnIndexHeldOnAnotherDeviceIsAClearError) {
  ResolvedIndex on_gpu = resolve_index({2, 3}, {Slice{}, 1});
  on_gpu.offsets.clear();
  on_gpu.device_offsets = std::make_shared<int>(0);  // stands in for a device buffer
  EXPECT_DZ_ERROR(ops::gather(Tensor::ones({2, 3}), on_gpu), HasSubstr("gather"), HasSubstr("(2, 3)"),
                  HasSubstr("another device"));
  EXPECT_DZ_ERROR(ops::scatter_add(Tensor::ones({2}), on_gpu), HasSubstr("scatter_add"), HasSubstr("another device"));
}

TEST(OpsTest, AxpbyUpdatesInPlaceOnBothDtypes) {
  for (DType dt : {Float32, Float64}) {
    manual_seed(3);
    const Tensor x = Tensor::randn({70001}).to(dt), y0 = Tensor::randn({70001}).to(dt);  // above one thread's grain
    Tensor y = y0.clone();
    const void* storage = y.raw_data();
    ops::axpby(-0.25, x, 0.9, y);
    EXPECT_EQ(y.raw_data(), storage);
    EXPECT_TENSOR_NEAR(y, ops::add(ops::mul(ops::scalar_like(x, -0.25), x), ops::mul(ops::scalar_like(y0, 0.9), y0)),
                       dt == Float32 ? 1e-6 : 1e-15);
    ops::axpby(2.0, y, 0.5, y);  // x may be y: y = 2.5 y
    EXPECT_NEAR(y.at({12345}), 2.5 * (-0.25 * x.at({12345}) + 0.9 * y0.at({12345})), dt == Float32 ? 1e-5 : 1e-14);
  }
  // A zero coefficient does not read its operand, as in BLAS: no 0 * inf = NaN.
  Tensor finite = Tensor::from_vector({1.0, -2.0}, Float64);
  const Tensor infinite = Tensor::from_vector({INFINITY, NAN}, Float64);
  ops::axpby(0.0, infinite, 3.0, finite);
  EXPECT_EQ(finite.to_vector(), (std::vector<double>{3.0, -6.0}));
  Tensor poisoned = infinite.clone();
  ops::axpby(0.5, finite, 0.0, poisoned);
  EXPECT_EQ(poisoned.to_vector(), (std::vector<double>{1.5, -3.0}));
  Tensor empty = Tensor::zeros({0, 3});
  ops::axpby(1.0, Tensor::zeros({0, 3}), 1.0, empty);
  EXPECT_EQ(empty.numel(), 0);
}

TEST(OpsTest, AxpbyRefusesMismatchedOperands) {
  Tensor y = Tensor::zeros({2, 3});
  EXPECT_DZ_ERROR(ops::axpby(1.0, Tensor::ones({3, 2}), 1.0, y), HasSubstr("axpby"), HasSubstr("(3, 2)"),
                  HasSubstr("(2, 3)"));
  EXPECT_DZ_ERROR(ops::axpby(1.0, Tensor::ones({2, 3}, Float64), 1.0, y), HasSubstr("axpby"), HasSubstr("dtype"));
  Tensor undefined;
  EXPECT_DZ_ERROR(ops::axpby(1.0, Tensor::ones({2, 3}), 1.0, undefined), HasSubstr("axpby"));
}

TEST(OpsTest, SoftmaxIsStableForLargeInputs) {
  Tensor x = T64({1000, 1001, 1002, -1000, 0, 1000}, {2, 3});
  Tensor s = ops::softmax(x, 1);
  EXPECT_TENSOR_NEAR(ops::sum(s, {1}), T64({1, 1}, {2}), 1e-12);
  Tensor ls = ops::log_softmax(x, 1);
  EXPECT_NEAR(ls.at({1, 0}), -2000.0, 1e-9);
  EXPECT_NEAR(ls.at({0, 2}), -std::log(1 + std::exp(-1) + std::exp(-2)), 1e-12);
}

TEST(OpsTest, UnaryOpsOnBothDtypes) {
  for (DType dt : {Float32, Float64}) {
    Tensor x = Tensor::from_vector({-1.5, -0.25, 0.5, 2.0}, dt);
    const double tol = dt == Float32 ? 1e-6 : 1e-15;
    const auto v = x.to_vector();
    auto check = [&](const Tensor& y, double (*f)(double)) {
      for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(y.at({static_cast<int64_t>(i)}), f(v[i]), tol);
    };
    check(ops::exp(x), [](double a) { return std::exp(a); });
    check(ops::tanh(x), [](double a) { return std::tanh(a); });
    check(ops::sin(x), [](double a) { return std::sin(a); });
    check(ops::cos(x), [](double a) { return std::cos(a); });
    check(ops::sigmoid(x), [](double a) { return 1 / (1 + std::exp(-a)); });
    check(ops::relu(x), [](double a) { return a > 0 ? a : 0; });
    check(ops::abs(x), [](double a) { return std::fabs(a); });
    check(ops::sign(x), [](double a) { return a > 0 ? 1.0 : -1.0; });
    check(ops::log(ops::abs(x)), [](double a) { return std::log(std::fabs(a)); });
  }
}

}  // namespace
