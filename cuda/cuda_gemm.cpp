// Batched GEMMs through cuBLAS. Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T,
// so each product is one cuBLAS call with the operands swapped and no copies. Entries that write
// the same C block accumulate in order (GemmSpec's contract), so the batch runs in waves: wave w
// holds the w-th entry of every C block, whose products are independent and run as one
// strided-batched call when the offsets are evenly spaced (conv's groups and samples), else one
// pointer-array batched call — never a loop of small launches.

#include <map>
#include <vector>

#include "dezero/cuda/cuda_check.h"
#include "dezero/cuda/runtime.h"

namespace dezero::cuda {
namespace {

template <class T>
struct Blas;

template <>
struct Blas<float> {
  static constexpr auto gemm = cublasSgemm;
  static constexpr auto strided = cublasSgemmStridedBatched;
  static constexpr auto batched = cublasSgemmBatched;
};

template <>
struct Blas<double> {
  static constexpr auto gemm = cublasDgemm;
  static constexpr auto strided = cublasDgemmStridedBatched;
  static constexpr auto batched = cublasDgemmBatched;
};

// The common difference of offsets[idx[0]], offsets[idx[1]], ... or -1 when there is none.
int64_t common_stride(const std::vector<int64_t>& offsets, const std::vector<size_t>& idx) {
  const int64_t stride = offsets[idx[1]] - offsets[idx[0]];
  for (size_t i = 2; i < idx.size(); ++i)
    if (offsets[idx[i]] - offsets[idx[i - 1]] != stride) return -1;
  return stride;
}

int as_int(int64_t v, const char* what) {
  DZ_CHECK(v >= 0 && v <= INT32_MAX, "cuda gemm: {} = {} is beyond cuBLAS's 32-bit sizes", what, v);
  return static_cast<int>(v);
}

template <class T>
void run_wave(const T* A, const T* B, T* C, const GemmSpec& s, const std::vector<size_t>& idx) {
  const int m = as_int(s.N, "N"), n = as_int(s.M, "M"), k = as_int(s.K, "K");
  const int lda = as_int(s.trans_a ? s.M : s.K, "lda"), ldb = as_int(s.trans_b ? s.K : s.N, "ldb"), ldc = m;
  const cublasOperation_t op_b = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const T alpha = static_cast<T>(s.alpha), beta = static_cast<T>(s.beta);
  const int count = as_int(static_cast<int64_t>(idx.size()), "batch");
  if (count == 1) {
    DZ_CUBLAS_CHECK(Blas<T>::gemm(cublas(), op_b, op_a, m, n, k, &alpha, B + s.b_offsets[idx[0]], ldb,
                                  A + s.a_offsets[idx[0]], lda, &beta, C + s.c_offsets[idx[0]], ldc));
    return;
  }
  const int64_t sa = common_stride(s.a_offsets, idx), sb = common_stride(s.b_offsets, idx);
  const int64_t sc = common_stride(s.c_offsets, idx);
  if (sa >= 0 && sb >= 0 && sc >= s.M * s.N) {
    DZ_CUBLAS_CHECK(Blas<T>::strided(cublas(), op_b, op_a, m, n, k, &alpha, B + s.b_offsets[idx[0]], ldb, sb,
                                     A + s.a_offsets[idx[0]], lda, sa, &beta, C + s.c_offsets[idx[0]], ldc, sc,
                                     count));
    return;
  }
  std::vector<const T*> as, bs;
  std::vector<T*> cs;
  for (size_t i : idx) {
    as.push_back(A + s.a_offsets[i]);
    bs.push_back(B + s.b_offsets[i]);
    cs.push_back(C + s.c_offsets[i]);
  }
  const auto da = to_device(as.data(), as.size() * sizeof(T*));
  const auto db = to_device(bs.data(), bs.size() * sizeof(T*));
  const auto dc = to_device(cs.data(), cs.size() * sizeof(T*));
  DZ_CUBLAS_CHECK(Blas<T>::batched(cublas(), op_b, op_a, m, n, k, &alpha, static_cast<const T* const*>(db.get()), ldb,
                                   static_cast<const T* const*>(da.get()), lda, &beta, static_cast<T* const*>(dc.get()),
                                   ldc, count));
}

}  // namespace

void gemm(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& spec) {
  DZ_CHECK(spec.a_offsets.size() == spec.c_offsets.size() && spec.b_offsets.size() == spec.c_offsets.size(),
           "cuda gemm: {} A, {} B and {} C offsets", spec.a_offsets.size(), spec.b_offsets.size(), spec.c_offsets.size());
  if (spec.M == 0 || spec.N == 0 || spec.c_offsets.empty()) return;
  // Wave w: the w-th entry of each C block, in the order the entries came.
  std::vector<std::vector<size_t>> waves;
  std::map<int64_t, size_t> seen;
  for (size_t i = 0; i < spec.c_offsets.size(); ++i) {
    const size_t w = seen[spec.c_offsets[i]]++;
    if (w == waves.size()) waves.emplace_back();
    waves[w].push_back(i);
  }
  for (const auto& wave : waves) {
    if (c.dtype() == Float32)
      run_wave(static_cast<const float*>(a.raw_data()), static_cast<const float*>(b.raw_data()),
               static_cast<float*>(c.raw_data()), spec, wave);
    else
      run_wave(static_cast<const double*>(a.raw_data()), static_cast<const double*>(b.raw_data()),
               static_cast<double*>(c.raw_data()), spec, wave);
  }
}

}  // namespace dezero::cuda
