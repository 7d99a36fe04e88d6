#pragma once
// Layers, models and optimizers: namespace L = dezero::layers; namespace O = dezero::optimizers;

#include "layers/basic.h"
#include "layers/layer.h"
#include "layers/models.h"
#include "layers/optimizers.h"
