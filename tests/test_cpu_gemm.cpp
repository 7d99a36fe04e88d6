// The packed AVX-512 SGEMM against a naive product, over every edge-tile shape (rows 1..14 of a
// tile, 1..32 columns), both transposes, alpha/beta accumulation and K split into slices.

#include <limits>

#include "test_helpers.h"

#include "dezero/core/cpu_gemm.h"

using namespace dezero;

namespace {

// With `packed`, the product goes through cpu::PackedA + cpu::sgemm_packed (B read in place,
// not transposed; with `bias`, a per-row bias added once however many K slices), its B an
// exact-size allocation so that reading past row ends would be seen by ASan, and C filled with
// NaN when beta = 0 (C must not be read).
void check_sgemm(int64_t M, int64_t N, int64_t K, bool ta, bool tb, float alpha, float beta, bool packed = false,
                 bool bias = false) {
  manual_seed(static_cast<uint64_t>(M * 1000003 + N * 1009 + K));
  const std::vector<double> a = Tensor::randn({M * K}, Float64).to_vector();
  const std::vector<double> b = Tensor::randn({K * N}, Float64).to_vector();
  std::vector<double> c0 = Tensor::randn({M * N}, Float64).to_vector();
  std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(c0.begin(), c0.end());
  std::vector<float> row_bias(static_cast<size_t>(M));
  for (int64_t i = 0; i < M; ++i) row_bias[i] = bias ? 0.25f * static_cast<float>(i % 7) - 0.5f : 0.0f;
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  if (packed) {
    if (beta == 0) std::fill(cf.begin(), cf.end(), std::numeric_limits<float>::quiet_NaN());
    const cpu::PackedA pa(M, K, alpha, af.data(), lda, ta);
    cpu::sgemm_packed(pa, N, bf.data(), ldb, beta, cf.data(), N, bias ? row_bias.data() : nullptr);
  } else {
    cpu::sgemm(M, N, K, alpha, af.data(), lda, ta, bf.data(), ldb, tb, beta, cf.data(), N);
  }
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += static_cast<double>(af[ta ? k * lda + i : i * lda + k]) * bf[tb ? j * ldb + k : k * ldb + j];
      const double want =
          alpha * acc + (beta == 0 ? 0.0 : beta * static_cast<float>(c0[i * N + j])) + row_bias[i];
      ASSERT_NEAR(cf[i * N + j], want, 1e-4 * (1 + std::fabs(want)) * std::sqrt(static_cast<double>(K + 1)))
          << "M " << M << " N " << N << " K " << K << " ta " << ta << " tb " << tb << " at " << i << "," << j;
    }
}

TEST(CpuGemmTest, MatchesNaiveOnEdgeShapesTransposesAndBeta) {
  if (!cpu::has_fast_sgemm()) GTEST_SKIP() << "this build has no AVX-512 kernel (Eigen is used)";
  for (int64_t M : {1, 5, 13, 14, 15, 29})
    for (int64_t N : {1, 16, 17, 31, 32, 33, 70})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) check_sgemm(M, N, 9, ta, tb, 1.0f, 0.0f);
  check_sgemm(37, 45, 800, false, false, 0.5f, 2.0f);  // K in 3 balanced slices, beta = 2
  check_sgemm(600, 40, 20, true, false, 1.0f, 1.0f);   // several row blocks
  check_sgemm(20, 4200, 7, false, true, -1.0f, 0.0f);  // more than one column block
  check_sgemm(3, 4, 0, false, false, 1.0f, 0.5f);      // K = 0 scales C
  // Transposed B packed by 16 x 16 register transposes: whole blocks, a K tail, a column tail.
  for (int64_t N : {16, 32, 47, 70})
    for (int64_t K : {16, 37, 800}) check_sgemm(15, N, K, false, true, 1.0f, 0.0f);
  // Row-major A packed the same way: a whole panel and a 1-row one, depth tails, both layouts.
  for (int64_t K : {16, 37, 800}) check_sgemm(15, 33, K, false, false, 1.0f, 0.0f);
  for (int64_t K : {16, 37}) check_sgemm(29, 20, K, false, false, 1.0f, 0.0f, true);
}

TEST(CpuGemmTest, PackedLeftOperandWithBInPlace) {
  if (!cpu::has_fast_sgemm()) GTEST_SKIP() << "this build has no AVX-512 kernel (Eigen is used)";
  for (int64_t M : {1, 8, 14, 15, 64})
    for (int64_t N : {1, 4, 16, 17, 33, 196})
      for (bool ta : {false, true}) check_sgemm(M, N, 9, ta, false, 1.0f, 0.0f, true);
  check_sgemm(30, 50, 800, true, false, 0.5f, 2.0f, true);  // K in slices, beta = 2
  check_sgemm(3, 4, 0, false, false, 1.0f, 0.5f, true);     // K = 0 scales C
  for (int64_t M : {5, 29}) check_sgemm(M, 33, 9, false, false, 1.0f, 0.0f, true, true);  // a row bias
  check_sgemm(30, 50, 800, false, false, 0.5f, 2.0f, true, true);  // the bias once across K slices
  check_sgemm(3, 4, 0, false, false, 1.0f, 0.5f, true, true);     // K = 0: beta C + bias
}

TEST(CpuGemmTest, SingleThreadedInsideAParallelRegion) {
  if (!cpu::has_fast_sgemm()) GTEST_SKIP() << "this build has no AVX-512 kernel";
  std::vector<float> a(30 * 20, 1.0f), b(20 * 50, 2.0f);
  std::vector<std::vector<float>> c(4, std::vector<float>(30 * 50, 0.0f));
#pragma omp parallel for num_threads(2)
  for (int t = 0; t < 4; ++t) cpu::sgemm(30, 50, 20, 1.0f, a.data(), 20, false, b.data(), 50, false, 0.0f, c[t].data(), 50);
  for (const auto& ct : c)
    for (float v : ct) ASSERT_FLOAT_EQ(v, 40.0f);
}

}  // namespace
