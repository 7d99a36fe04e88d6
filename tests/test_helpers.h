#pragma once
// Shared test helpers: EXPECT_TENSOR_NEAR and a message matcher for dezero::Error.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <dezero/dezero.h>

namespace dezero::testing {

/// Compares shapes, then values; reports the first differing index.
inline ::testing::AssertionResult tensor_near(const Tensor& actual, const Tensor& expected, double tol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << to_string(actual.shape()) << " vs expected "
                                         << to_string(expected.shape());
  const auto a = actual.to_vector(), e = expected.to_vector();
  for (size_t i = 0; i < a.size(); ++i) {
    const bool same_nan = std::isnan(a[i]) && std::isnan(e[i]);
    if (!same_nan && !(std::fabs(a[i] - e[i]) <= tol))
      return ::testing::AssertionFailure() << "element " << i << " of " << to_string(actual.shape())
                                           << ": " << a[i] << " vs expected " << e[i];
  }
  return ::testing::AssertionSuccess();
}

/// A float64 tensor from values and a shape.
inline Tensor T64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, Float64); }

}  // namespace dezero::testing

#define EXPECT_TENSOR_NEAR(actual, expected, tol) \
  EXPECT_TRUE(::dezero::testing::tensor_near((actual), (expected), (tol)))

/// Expects `stmt` to throw dezero::Error whose message contains every given substring.
#define EXPECT_DZ_ERROR(stmt, ...)                                                   \
  EXPECT_THAT([&] { stmt; }, ::testing::ThrowsMessage<::dezero::Error>(              \
                                 ::testing::AllOf(__VA_ARGS__)))
