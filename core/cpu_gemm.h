#pragma once
// A packed float32 GEMM for x86-64 with AVX-512 (BLIS-style blocking, 14x32 register tile).
// Internal to the CPU backend; float64 and CPUs without AVX-512 use Eigen's GEMM instead.

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace dezero::cpu {

/// True when this build has the AVX-512 kernel (compiled with -mavx512f, e.g. -march=native).
bool has_fast_sgemm();

/// Whether the packed kernel is the faster choice for this product: it wins on 32 or more
/// columns when the product runs on several threads or is large (>= 2^24 multiply-adds); Eigen's
/// GEMM wins on narrow and on small single-threaded products (docs/PERFORMANCE.md).
bool prefer_fast_sgemm(int64_t M, int64_t N, int64_t K);

/// C = alpha * op(A) op(B) + beta * C, row-major; op(A) is M x K, op(B) is K x N. A is read as
/// A[i * lda + k] (A[k * lda + i] when trans_a), B likewise. Runs on the OpenMP pool, or on
/// the calling thread when called inside a parallel region. Requires has_fast_sgemm().
void sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, bool trans_a,
           const float* B, int64_t ldb, bool trans_b, float beta, float* C, int64_t ldc);

/// alpha * op(A) (M x K, read as in sgemm) packed once, for many products with the same left
/// operand (a convolution's weights applied to every sample). Requires has_fast_sgemm().
class PackedA {
 public:
  PackedA(int64_t M, int64_t K, float alpha, const float* A, int64_t lda, bool trans_a);
  ~PackedA();
  PackedA(const PackedA&) = delete;
  PackedA& operator=(const PackedA&) = delete;
  PackedA(PackedA&&) = default;
  PackedA& operator=(PackedA&&) = default;

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  int64_t M_ = 0, K_ = 0, kc_ = 1;
  float alpha_ = 1;
  std::unique_ptr<float[], Free> data_;
  friend void sgemm_packed(const PackedA&, int64_t, const float*, int64_t, float, float*, int64_t, const float*);
};

/// C = a . B + beta * C (+ row_bias[i] on row i when given) on the calling thread, B (K x N,
/// row-major, leading dimension ldb) read in place without packing and never past its N
/// columns; C likewise never written past them.
void sgemm_packed(const PackedA& a, int64_t N, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                  const float* row_bias = nullptr);

}  // namespace dezero::cpu
