#pragma once
// Fixed-width vectors for the CPU kernels (internal to the CPU backend): kLanes elements of T as
// one GCC/Clang vector (one zmm register for float with AVX-512, two for double), with loads and
// stores of the first n lanes that never touch memory past them (masked with AVX-512).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace dezero::cpu {

/// Elements per vector.
inline constexpr int64_t kLanes = 16;

template <class T>
struct LanesOf;
template <>
struct LanesOf<float> {
  typedef float type __attribute__((vector_size(kLanes * sizeof(float))));
};
template <>
struct LanesOf<double> {
  typedef double type __attribute__((vector_size(kLanes * sizeof(double))));
};
/// kLanes elements of T.
template <class T>
using Lanes = typename LanesOf<T>::type;

/// All kLanes elements at p (unaligned).
template <class T>
inline Lanes<T> load_lanes(const T* p) {
  Lanes<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

/// Elements p[0], p[stride], ..., p[(kLanes - 1) stride].
template <class T>
inline Lanes<T> load_strided(const T* p, int64_t stride) {
  Lanes<T> v;
  for (int64_t i = 0; i < kLanes; ++i) v[i] = p[i * stride];
  return v;
}

#if defined(__AVX512F__)
inline __mmask16 first_lanes_mask(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << std::max<int64_t>(n, 0)) - 1);
}
#endif

/// p[0 .. n) in the first n lanes (n <= kLanes), zeros after; reads nothing past p + n.
inline Lanes<float> load_first(const float* p, int64_t n) {
#if defined(__AVX512F__)
  return reinterpret_cast<Lanes<float>>(_mm512_maskz_loadu_ps(first_lanes_mask(n), p));
#else
  Lanes<float> v = {};
  for (int64_t i = 0; i < n; ++i) v[i] = p[i];
  return v;
#endif
}

inline Lanes<double> load_first(const double* p, int64_t n) {
  Lanes<double> v = {};
#if defined(__AVX512F__)
  const __m512d lo = _mm512_maskz_loadu_pd(static_cast<__mmask8>(first_lanes_mask(n)), p);
  const __m512d hi = _mm512_maskz_loadu_pd(static_cast<__mmask8>(first_lanes_mask(n - 8)), p + 8);
  std::memcpy(&v, &lo, sizeof(lo));
  std::memcpy(reinterpret_cast<char*>(&v) + sizeof(lo), &hi, sizeof(hi));
#else
  for (int64_t i = 0; i < n; ++i) v[i] = p[i];
#endif
  return v;
}

/// Stores the first n lanes of v to p[0 .. n) (n <= kLanes); writes nothing past p + n.
inline void store_first(float* p, const Lanes<float>& v, int64_t n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, first_lanes_mask(n), reinterpret_cast<__m512>(v));
#else
  for (int64_t i = 0; i < n; ++i) p[i] = v[i];
#endif
}

inline void store_first(double* p, const Lanes<double>& v, int64_t n) {
#if defined(__AVX512F__)
  __m512d lo, hi;
  std::memcpy(&lo, &v, sizeof(lo));
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof(lo), sizeof(hi));
  _mm512_mask_storeu_pd(p, static_cast<__mmask8>(first_lanes_mask(n)), lo);
  _mm512_mask_storeu_pd(p + 8, static_cast<__mmask8>(first_lanes_mask(n - 8)), hi);
#else
  for (int64_t i = 0; i < n; ++i) p[i] = v[i];
#endif
}

/// Zeros p[0 .. n): one masked store when n <= kLanes (a row's few padding columns, where a
/// memset call per row cost more than the copy beside it).
template <class T>
inline void zero_short(T* p, int64_t n) {
  if (n <= 0) return;
  if (n <= kLanes)
    store_first(p, Lanes<T>{}, n);
  else
    std::fill(p, p + n, T(0));
}

/// Copies n elements (a short row) with whole-vector moves.
template <class T>
inline void copy_row(const T* src, T* dst, int64_t n) {
  for (int64_t i = 0; i < n; i += kLanes) store_first(dst + i, load_first(src + i, n - i), n - i);
}

/// v with the lanes from n on set to zero.
inline Lanes<float> keep_first(const Lanes<float>& v, int64_t n) {
#if defined(__AVX512F__)
  return reinterpret_cast<Lanes<float>>(_mm512_maskz_mov_ps(first_lanes_mask(n), reinterpret_cast<__m512>(v)));
#else
  Lanes<float> out = {};
  for (int64_t i = 0; i < std::min(n, kLanes); ++i) out[i] = v[i];
  return out;
#endif
}

inline Lanes<double> keep_first(const Lanes<double>& v, int64_t n) {
  Lanes<double> out = {};
  for (int64_t i = 0; i < std::min(n, kLanes); ++i) out[i] = v[i];
  return out;
}

template <int S, class T, size_t... I>
inline Lanes<T> shift_lanes_impl(const Lanes<T>& a, const Lanes<T>& b, std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, (S + static_cast<int>(I))...);
}

/// Lanes S .. S + kLanes - 1 of a followed by b: a shifted down by S lanes, b's first S after
/// it (one valign with AVX-512).
template <int S, class T>
inline Lanes<T> shift_lanes(const Lanes<T>& a, const Lanes<T>& b) {
  static_assert(S >= 0 && S <= kLanes);
  return shift_lanes_impl<S, T>(a, b, std::make_index_sequence<kLanes>{});
}

/// Sum of the lanes of v, in lane order.
template <class T>
inline T sum_lanes(const Lanes<T>& v) {
  T total = 0;
  for (int64_t i = 0; i < kLanes; ++i) total += v[i];
  return total;
}

}  // namespace dezero::cpu
