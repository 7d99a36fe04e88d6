#pragma once
// A decoy: a user project with its own core/tensor.h on its include path. dezero includes its
// headers as "dezero/core/tensor.h", so this file must never be reached (tests/consumer/CMakeLists.txt).
#error "dezero included the user's core/tensor.h instead of its own"
