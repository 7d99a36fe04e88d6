// conv2d forward + backward (input, weight and bias gradients), float32, for the convolution
// issue's six configurations (N, C, H, W, OC, k, stride, pad, groups):
//   ./build/bench/bench_conv --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
// Also the forward pass alone, and max_pool2d.

#include <benchmark/benchmark.h>

#include "bench_common.h"

namespace F = dezero::functions;
using dezero::Tensor;
using dezero::Variable;
using dezero::bench::kConvConfigs;
using dezero::bench::label;
using dezero::bench::ConvConfig;

namespace {

void BM_Conv2dForwardBackward(benchmark::State& state) {
  const ConvConfig& c = kConvConfigs[state.range(0)];
  dezero::set_num_threads(static_cast<int>(state.range(1)));
  dezero::manual_seed(0);
  Variable x(Tensor::randn({c.N, c.C, c.H, c.W})), W(Tensor::randn({c.OC, c.C / c.groups, c.k, c.k}));
  Variable b(Tensor::randn({c.OC}));
  const F::Conv2dOptions o{c.stride, c.pad, 1, c.groups};
  Variable gy;
  for (auto _ : state) {
    Variable y = F::conv2d(x, W, b, o);
    if (!gy.defined()) gy = Variable(Tensor::randn(y.shape()));
    auto grads = dezero::grad({y}, {x, W, b}, {gy});
    benchmark::DoNotOptimize(grads[0].data().raw_data());
  }
  state.SetLabel(label(c));
}

void BM_Conv2dForward(benchmark::State& state) {
  const ConvConfig& c = kConvConfigs[state.range(0)];
  dezero::set_num_threads(static_cast<int>(state.range(1)));
  dezero::manual_seed(0);
  Variable x(Tensor::randn({c.N, c.C, c.H, c.W})), W(Tensor::randn({c.OC, c.C / c.groups, c.k, c.k}));
  dezero::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(F::conv2d(x, W, {}, {c.stride, c.pad, 1, c.groups}).data().raw_data());
  state.SetLabel(label(c));
}

void BM_MaxPool2d(benchmark::State& state) {
  dezero::set_num_threads(static_cast<int>(state.range(0)));
  Variable x(Tensor::randn({64, 32, 28, 28}));
  for (auto _ : state) {
    Variable y = F::max_pool2d(x, 2);
    benchmark::DoNotOptimize(dezero::grad({y}, {x}, {Variable(Tensor::ones(y.shape()))})[0].data().raw_data());
  }
}

}  // namespace

BENCHMARK(BM_Conv2dForwardBackward)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {2}})
    ->ArgNames({"config", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2dForward)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {2}})
    ->ArgNames({"config", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxPool2d)->Arg(2)->ArgNames({"threads"})->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
