#pragma once
// dezero-cpp: one include for everything.
//   namespace F = dezero::functions;

#include "core/arithmetic.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/cuda.h"
#include "core/error.h"
#include "core/function.h"
#include "core/memory.h"
#include "core/index.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "core/variable.h"
#include "functions/dot.h"
#include "functions/functions.h"
#include "functions/gradient_check.h"
#include "io/npy.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "datasets/dataset.h"
#include "datasets/idx.h"
#include "layers/layers.h"
