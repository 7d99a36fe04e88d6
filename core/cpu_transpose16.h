#pragma once
// A 16 x 16 float transpose in AVX-512 registers (internal to the CPU backend): the packed GEMM
// packs row-major A through it, the direct convolution stores its position-major tiles with it.

#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstdint>

namespace dezero::cpu {

// Transposes the 16 x 16 block in r (r[i][j] -> r[j][i]) in four stages: stage h swaps the
// off-diagonal h x h blocks of every 2h x 2h block, pairing rows i and i + h (one two-source
// permute per row per stage).
struct TransposeIndex {
  alignas(64) int32_t lo[4][16], hi[4][16];  // per stage h = 8, 4, 2, 1
};

constexpr TransposeIndex make_transpose_index() {
  TransposeIndex t{};
  for (int s = 0, h = 8; s < 4; ++s, h /= 2)
    for (int j = 0; j < 16; ++j) {
      t.lo[s][j] = (j & h) == 0 ? j : 16 + j - h;  // row i:     [r_i's first half | r_{i+h}'s first half]
      t.hi[s][j] = (j & h) == 0 ? j + h : 16 + j;  // row i + h: [r_i's second half | r_{i+h}'s second half]
    }
  return t;
}

template <int kStage>
inline void transpose_stage(__m512 r[16]) {
  static constexpr TransposeIndex kIndex = make_transpose_index();
  constexpr int h = 8 >> kStage;
  const __m512i lo = _mm512_load_si512(kIndex.lo[kStage]), hi = _mm512_load_si512(kIndex.hi[kStage]);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (i & h) continue;
    const __m512 a = r[i], b = r[i + h];
    r[i] = _mm512_permutex2var_ps(a, lo, b);
    r[i + h] = _mm512_permutex2var_ps(a, hi, b);
  }
}

inline void transpose16(__m512 r[16]) {
  transpose_stage<0>(r);
  transpose_stage<1>(r);
  transpose_stage<2>(r);
  transpose_stage<3>(r);
}

}  // namespace dezero::cpu
#endif
