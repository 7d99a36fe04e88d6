#pragma once
// A decoy: a user project with its own layers/layer.h on its include path. dezero includes its
// headers as "dezero/layers/layer.h", so this file must never be reached (tests/consumer/CMakeLists.txt).
#error "dezero included the user's layers/layer.h instead of its own"
