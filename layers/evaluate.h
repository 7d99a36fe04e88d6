#pragma once
// evaluate(model, loader): the mean loss and the accuracy over a whole loader, in eval mode and
// without a graph (the model's train/eval mode is restored afterwards).

#include <functional>
#include <optional>

#include "dezero/core/variable.h"
#include "dezero/datasets/dataset.h"
#include "dezero/layers/layer.h"

namespace dezero::layers {

/// A loss of outputs y against a batch's targets t, averaged over the batch.
using LossFunction = std::function<Variable(const Variable& y, const Tensor& t)>;

/// What evaluate measured.
struct Evaluation {
  double loss = 0;  ///< mean of the per-batch losses, weighted by batch size
  std::optional<double>
      accuracy;          ///< fraction of argmax(y) == t; set when y is (B, C >= 2), t (B,)
  int64_t examples = 0;  ///< examples seen
};

/// Runs model over every batch of loader under eval mode and NoGradGuard; loss defaults to
/// softmax cross entropy (class labels); pass another for regression or multi-label targets.
Evaluation evaluate(Layer& model, datasets::DataLoader& loader, const LossFunction& loss = {});

}  // namespace dezero::layers
