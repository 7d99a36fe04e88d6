#pragma once
// dezero-cpp: one include for everything.
//   namespace F = dezero::functions;

#include "dezero/core/arithmetic.h"
#include "dezero/core/backend.h"
#include "dezero/core/config.h"
#include "dezero/core/cuda.h"
#include "dezero/core/error.h"
#include "dezero/core/function.h"
#include "dezero/core/memory.h"
#include "dezero/core/index.h"
#include "dezero/core/ops.h"
#include "dezero/core/tensor.h"
#include "dezero/core/variable.h"
#include "dezero/functions/dot.h"
#include "dezero/functions/functions.h"
#include "dezero/functions/gradient_check.h"
#include "dezero/io/npy.h"
#include "dezero/io/file.h"
#include "dezero/io/safetensors.h"
#include "dezero/datasets/dataset.h"
#include "dezero/datasets/idx.h"
#include "dezero/layers/layers.h"
