// matmul throughput, float32, n x n @ n x n, on an explicit number of threads.
//   ./build/bench/bench_matmul --benchmark_filter='Matmul/1024/2'
// Reports GFLOP/s (2 n^3 flops per product). The output tensor is allocated by every call, as
// in real use. BM_EigenGemm is the baseline: Eigen 3.4's GEMM on the same threads.

#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/Core>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <dezero/dezero.h>

namespace {

void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  dezero::set_num_threads(static_cast<int>(state.range(1)));
  dezero::manual_seed(0);
  const dezero::Tensor a = dezero::Tensor::randn({n, n}), b = dezero::Tensor::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(dezero::ops::matmul(a, b).raw_data());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Reference: Eigen's own GEMM on the same pool (what the backend used before its AVX-512 kernel).
void BM_EigenGemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  dezero::set_num_threads(static_cast<int>(state.range(1)));
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Matrix a = Matrix::Random(n, n), b = Matrix::Random(n, n);
  for (auto _ : state) {
    Matrix c(n, n);
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

#if defined(__AVX512F__)
// The machine's float32 FMA peak: 12 independent chains of 16-wide FMAs per thread (latency
// hidden, no memory traffic). GEMM throughput is reported against this.
void BM_FmaPeak(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  constexpr int64_t kIters = 1 << 22;
  for (auto _ : state) {
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m512 acc[12];
      for (auto& a : acc) a = _mm512_set1_ps(0.0f);
      const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
      for (int64_t i = 0; i < kIters; ++i) {
#pragma GCC unroll 12
        for (int k = 0; k < 12; ++k) acc[k] = _mm512_fmadd_ps(acc[k], x, y);
      }
      __m512 total = acc[0];
      for (int k = 1; k < 12; ++k) total = _mm512_add_ps(total, acc[k]);
      sink += _mm512_reduce_add_ps(total);
    }
    benchmark::DoNotOptimize(sink);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 16 * 12 * kIters * threads,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FmaPeak)->Arg(1)->Arg(2)->ArgNames({"threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

// Batched small products (the grouped-convolution shape): 64 x (64x64 @ 64x196).
void BM_MatmulBatched(benchmark::State& state) {
  dezero::set_num_threads(static_cast<int>(state.range(0)));
  const dezero::Tensor a = dezero::Tensor::randn({64, 64, 64}), b = dezero::Tensor::randn({64, 64, 196});
  for (auto _ : state) benchmark::DoNotOptimize(dezero::ops::matmul(a, b).raw_data());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 64 * 64 * 64 * 196,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Matmul)
    ->ArgsProduct({{256, 512, 1024, 2048}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EigenGemm)
    ->ArgsProduct({{1024}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatmulBatched)->Arg(1)->Arg(2)->ArgNames({"threads"})->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
