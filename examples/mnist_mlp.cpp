// DeZero's MNIST MLP (steps 51-52): 784-1000-1000-10 with ReLU, Adam and weight decay, on the
// bundled MNIST. Usage: mnist_mlp [--epochs 5] [--batch-size 100] [--lr 1e-3] (--help for all)

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
  int epochs = 5;
  int64_t batch_size = 100, limit = 0;
  double lr = 1e-3, weight_decay = 1e-4;
  uint64_t seed = 0;
  std::string data = DEZERO_MNIST_DIR;
};

int run_training(const Options& o) {
  dezero::manual_seed(o.seed);
  const D::MNIST train(o.data, true, o.limit), test(o.data, false);
  const D::Transform flat_normalized = [](const dezero::Tensor& x) {
    return D::Normalize(0.1307, 0.3081)(x).reshape({x.size(0), -1});
  };
  D::DataLoader loader(train, o.batch_size, {.seed = o.seed, .transform = flat_normalized});
  D::DataLoader test_loader(test, 1000, {.shuffle = false, .transform = flat_normalized});
  L::MLP model({1000, 1000, 10}, F::relu);
  O::Adam optimizer(model, {.lr = o.lr});
  optimizer.add_hook(O::WeightDecay(o.weight_decay));
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    double loss_sum = 0;
    for (auto [x, t] : loader) {
      const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
      model.clear_grads();
      loss.backward();
      optimizer.update();
      loss_sum += loss.item() * static_cast<double>(t.numel());
    }
    dezero::NoGradGuard no_grad;
    double correct = 0;
    for (auto [x, t] : test_loader)
      correct += F::accuracy(model(Variable(x)), t).item() * static_cast<double>(t.numel());
    spdlog::info("epoch {}: train loss {:.4f}, test accuracy {:.4f}", epoch,
                 loss_sum / static_cast<double>(train.size()),
                 correct / static_cast<double>(test.size()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  examples::Cli app{"DeZero's MNIST MLP (784-1000-1000-10, ReLU, Adam, weight decay)"};
  app.add_option("--epochs", o.epochs, "epochs")->check(examples::at_least(1));
  app.add_option("--batch-size", o.batch_size, "batch size")->check(examples::at_least(1));
  app.add_option("--lr", o.lr, "Adam's learning rate")->check(examples::greater_than(0));
  app.add_option("--weight-decay", o.weight_decay, "L2 weight decay added to every gradient")
      ->check(examples::at_least(0));
  app.add_option("--limit", o.limit, "train on the first N training images only (0: all)")
      ->check(examples::at_least(0));
  app.add_option("--seed", o.seed, "seed of the initialization and the shuffling");
  app.add_option("--data", o.data, "directory of the MNIST IDX files")
      ->check(CLI::ExistingDirectory);
  return app.run(argc, argv, [&] { return run_training(o); });
}
