// DeZero's spiral classification (step 48): a two-layer MLP trained with SGD on three
// interleaved spirals; prints the loss every 50 epochs and the final accuracy, and exits with
// status 1 if the accuracy stays below 0.9. Usage: spiral [--epochs 300] (--help for all)

#include <dezero/dezero.h>
#include <spdlog/spdlog.h>

#include "cli.h"

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Variable;

namespace {

struct Options {
  int epochs = 300;
  int64_t batch_size = 30, hidden = 10;
  double lr = 1.0;
  uint64_t seed = 0;
};

int run_training(const Options& o) {
  dezero::manual_seed(o.seed);
  const D::Spiral train(true);
  D::DataLoader loader(train, o.batch_size, {.seed = o.seed});
  L::MLP model({o.hidden, 3}, F::sigmoid);
  O::SGD optimizer(model, {.lr = o.lr});
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    double loss_sum = 0;
    for (auto [x, t] : loader) {
      const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
      model.clear_grads();
      loss.backward();
      optimizer.update();
      loss_sum += loss.item() * static_cast<double>(t.numel());
    }
    if (epoch % 50 == 0 || epoch == o.epochs)
      spdlog::info("epoch {:3}: loss {:.4f}", epoch, loss_sum / static_cast<double>(train.size()));
  }
  dezero::NoGradGuard no_grad;
  D::DataLoader all(train, train.size(), {.shuffle = false});
  const auto [x, t] = *all.begin();
  const double accuracy = F::accuracy(model(Variable(x)), t).item();
  spdlog::info("training accuracy {:.3f}", accuracy);
  return accuracy > 0.9 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  examples::Cli app{"DeZero's spiral classification: a two-layer MLP trained with SGD"};
  app.add_option("--epochs", o.epochs, "epochs")->check(examples::at_least(1));
  app.add_option("--batch-size", o.batch_size, "batch size")->check(examples::at_least(1));
  app.add_option("--hidden", o.hidden, "hidden units")->check(examples::at_least(1));
  app.add_option("--lr", o.lr, "SGD's learning rate")->check(examples::greater_than(0));
  app.add_option("--seed", o.seed, "seed of the initialization and the shuffling");
  return app.run(argc, argv, [&] { return run_training(o); });
}
