#pragma once
// Layers, models and optimizers: namespace L = dezero::layers; namespace O = dezero::optimizers;

#include "dezero/layers/basic.h"
#include "dezero/layers/evaluate.h"
#include "dezero/layers/layer.h"
#include "dezero/layers/models.h"
#include "dezero/layers/optimizers.h"
