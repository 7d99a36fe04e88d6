#pragma once
// GoogleTest helpers for users' own tests: EXPECT_GRADCHECK(f, inputs[, options]) and
// EXPECT_GRADGRADCHECK(...), printing the report (input, element, values) on failure.

#include <gtest/gtest.h>

#include "dezero/functions/gradient_check.h"

/// Expects dezero::gradient_check(args...) to pass.
#define EXPECT_GRADCHECK(...)                                         \
  do {                                                                \
    const ::dezero::GradCheckReport dz_report_ = ::dezero::gradient_check(__VA_ARGS__); \
    EXPECT_TRUE(dz_report_.ok) << dz_report_;                         \
  } while (0)

/// Expects dezero::gradgrad_check(args...) to pass.
#define EXPECT_GRADGRADCHECK(...)                                     \
  do {                                                                \
    const ::dezero::GradCheckReport dz_report_ = ::dezero::gradgrad_check(__VA_ARGS__); \
    EXPECT_TRUE(dz_report_.ok) << dz_report_;                         \
  } while (0)
