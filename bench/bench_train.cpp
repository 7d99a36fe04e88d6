// Training steps, float32: the LeNet-style CNN (forward, backward, MomentumSGD update) at
// batch 64 and 256, the MLP 784-1000-1000-10 at batch 100, and the data pipeline alone
// (one MNIST batch: decode, normalize), which should stay a small fraction of a step.
//   ./build/bench/bench_train --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true

#include <benchmark/benchmark.h>

#include "bench_common.h"

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Tensor;
using dezero::Variable;
using dezero::bench::labels;

namespace {

void step(L::Layer& model, O::Optimizer& opt, const Tensor& x, const Tensor& t) {
  const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
  model.clear_grads();
  loss.backward();
  opt.update();
}

void BM_LeNetStep(benchmark::State& state) {
  const int64_t batch = state.range(0);
  dezero::set_num_threads(static_cast<int>(state.range(1)));
  dezero::manual_seed(0);
  L::LeNet model;
  O::MomentumSGD opt(model, {.lr = 0.01});
  const Tensor x = Tensor::randn({batch, 1, 28, 28}), t = labels(batch);
  step(model, opt, x, t);
  for (auto _ : state) step(model, opt, x, t);
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_MlpStep(benchmark::State& state) {
  dezero::set_num_threads(static_cast<int>(state.range(0)));
  dezero::manual_seed(0);
  L::MLP model({1000, 1000, 10});
  O::MomentumSGD opt(model, {.lr = 0.01});
  const Tensor x = Tensor::randn({100, 784}), t = labels(100);
  step(model, opt, x, t);
  for (auto _ : state) step(model, opt, x, t);
  state.SetItemsProcessed(state.iterations() * 100);
}

void BM_MnistBatch(benchmark::State& state) {
  static const D::MNIST train(DEZERO_MNIST_DIR, true);
  D::DataLoader loader(train, state.range(0), {.seed = 0, .transform = D::Normalize(0.1307, 0.3081)});
  auto it = loader.begin();
  for (auto _ : state) {
    benchmark::DoNotOptimize((*it).x.raw_data());
    ++it;
    if (!(it != loader.end())) it = loader.begin();
  }
}

}  // namespace

BENCHMARK(BM_LeNetStep)->ArgsProduct({{64, 256}, {2}})->ArgNames({"batch", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpStep)->Arg(2)->ArgNames({"threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MnistBatch)->Arg(64)->Arg(256)->ArgNames({"batch"})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
