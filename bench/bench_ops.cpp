// Micro-benchmarks of the pieces below conv2d and the training step, float32, forward only
// unless named: im2col and col2im (LeNet's second layer), elementwise and broadcasting maps,
// a reduction, and softmax cross entropy forward + backward.
//   ./build/bench/bench_ops --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true

#include <benchmark/benchmark.h>

#include <dezero/dezero.h>

namespace F = dezero::functions;
using dezero::Tensor;
using dezero::Variable;

namespace {

constexpr int kThreads = 2;

void BM_Im2col(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const Variable x(Tensor::randn({64, 32, 14, 14}));
  dezero::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(F::im2col(x, {3, 3}, {.stride = 1, .pad = 1}).data().raw_data());
  state.SetBytesProcessed(state.iterations() * 64 * 32 * 9 * 14 * 14 * 4);
}

void BM_Col2im(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const Variable col(Tensor::randn({64, 32 * 9, 14 * 14}));
  dezero::NoGradGuard no_grad;
  for (auto _ : state)
    benchmark::DoNotOptimize(F::col2im(col, {64, 32, 14, 14}, {3, 3}, {.stride = 1, .pad = 1}).data().raw_data());
  state.SetBytesProcessed(state.iterations() * 64 * 32 * 9 * 14 * 14 * 4);
}

// y = a * b, same shapes (1M elements): memory bound.
void BM_Mul(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const Tensor a = Tensor::randn({1024, 1024}), b = Tensor::randn({1024, 1024});
  for (auto _ : state) benchmark::DoNotOptimize((a * b).raw_data());
  state.SetBytesProcessed(state.iterations() * 3 * 1024 * 1024 * 4);
}

// y = x + bias over channels, (64, 64, 28, 28) + (1, 64, 1, 1): the conv bias broadcast.
void BM_BroadcastAdd(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const Tensor x = Tensor::randn({64, 64, 28, 28}), b = Tensor::randn({1, 64, 1, 1});
  for (auto _ : state) benchmark::DoNotOptimize((x + b).raw_data());
  state.SetBytesProcessed(state.iterations() * 2 * 64 * 64 * 28 * 28 * 4);
}

void BM_Relu(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const Variable x(Tensor::randn({64, 64, 28, 28}));
  dezero::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(F::relu(x).data().raw_data());
  state.SetBytesProcessed(state.iterations() * 2 * 64 * 64 * 28 * 28 * 4);
}

// Sum over N, H, W of (64, 64, 28, 28): the bias gradient's reduction.
void BM_SumAxes(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const Variable x(Tensor::randn({64, 64, 28, 28}));
  dezero::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(F::sum(x, {0, 2, 3}).data().raw_data());
  state.SetBytesProcessed(state.iterations() * 64 * 64 * 28 * 28 * 4);
}

void BM_SoftmaxCrossEntropy(benchmark::State& state) {
  dezero::set_num_threads(kThreads);
  const int64_t n = state.range(0);
  std::vector<double> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<double>(i % 10);
  const Tensor t = Tensor::from_vector(labels);
  const Variable x(Tensor::randn({n, 10}));
  for (auto _ : state) {
    const Variable loss = F::softmax_cross_entropy(x, t);
    benchmark::DoNotOptimize(dezero::grad({loss}, {x})[0].data().raw_data());
  }
}

}  // namespace

BENCHMARK(BM_Im2col)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Col2im)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mul)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BroadcastAdd)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Relu)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SumAxes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SoftmaxCrossEntropy)->Arg(64)->Arg(256)->ArgNames({"batch"})->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
