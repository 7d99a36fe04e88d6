#include "dezero/layers/evaluate.h"

#include "dezero/core/config.h"
#include "dezero/core/error.h"
#include "dezero/functions/functions.h"

namespace dezero::layers {

Evaluation evaluate(Layer& model, datasets::DataLoader& loader, const LossFunction& loss) {
  const EvalModeGuard eval(model);
  const NoGradGuard no_grad;
  const LossFunction& criterion = loss ? loss : LossFunction(functions::softmax_cross_entropy);
  Evaluation result;
  double loss_sum = 0, correct = 0;
  bool classified = true;
  for (auto [x, t] : loader) {
    const Variable y = model(Variable(x));
    const Variable l = criterion(y, t);
    DZ_CHECK(l.numel() == 1,
             "evaluate: the loss must be a scalar (the batch mean); got shape {} for y {} and t {}",
             to_string(l.shape()), to_string(y.shape()), to_string(t.shape()));
    const double n = static_cast<double>(t.size(0));
    loss_sum += l.item() * n;
    classified =
        classified && y.ndim() == 2 && y.size(1) >= 2 && t.ndim() == 1 && y.size(0) == t.size(0);
    if (classified) correct += functions::accuracy(y, t).item() * n;
    result.examples += t.size(0);
  }
  DZ_CHECK(result.examples > 0, "evaluate: the loader yielded no batch");
  const double seen = static_cast<double>(result.examples);
  result.loss = loss_sum / seen;
  if (classified) result.accuracy = correct / seen;
  return result;
}

}  // namespace dezero::layers
