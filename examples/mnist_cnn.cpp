// Trains a CNN on MNIST (the bundled original IDX files by default) and reports, per epoch, the
// training loss and accuracy, the test accuracy, the time and images/s; writes metrics.csv,
// training_curves.png (with gnuplot) and filters.png (the first layer's filters).
//   ./build/examples/mnist_cnn                         LeNet-style CNN, Adam, 3 epochs
//   ./build/examples/mnist_cnn --model grouped --groups 4
//   ./build/examples/mnist_cnn --model mlp --optimizer sgd --lr 0.1

#include <dezero/dezero.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli.h"
#include "plots.h"

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Tensor;
using dezero::Variable;

namespace {

struct Options {
  std::string device = "cpu", model = "lenet", optimizer = "adam", schedule = "cosine",
              data = DEZERO_MNIST_DIR, out = ".", save, checkpoint, resume;
  int epochs = 3, threads = 0;
  int64_t batch_size = 64, groups = 4, limit = 0;
  double lr = 1e-3;
  uint64_t seed = 0;
  bool detect_anomaly = false;
};

std::unique_ptr<L::Layer> make_model(const Options& o) {
  if (o.model == "lenet") return std::make_unique<L::LeNet>();
  if (o.model == "grouped") return std::make_unique<L::GroupedCNN>(o.groups);
  return std::make_unique<L::MLP>(std::vector<int64_t>{1000, 1000, 10});
}

std::unique_ptr<O::Optimizer> make_optimizer(const Options& o, const L::Layer& model) {
  if (o.optimizer == "sgd") return std::make_unique<O::SGD>(model, o.lr);
  if (o.optimizer == "momentum")
    return std::make_unique<O::MomentumSGD>(model, O::MomentumOptions{.lr = o.lr});
  if (o.optimizer == "adamw")
    return std::make_unique<O::AdamW>(model, O::AdamOptions{.lr = o.lr, .weight_decay = 0.01});
  return std::make_unique<O::Adam>(model, O::AdamOptions{.lr = o.lr});
}

// Ctrl-C asks the training loop to stop after the current batch and save a checkpoint.
std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// Trains and evaluates as the options say; returns the exit status.
int run_training(const Options& o) {
  if (o.threads > 0) dezero::set_num_threads(o.threads);
  const dezero::DetectAnomalyGuard anomaly(o.detect_anomaly);
  const dezero::Device device = o.device == "cuda" ? dezero::Device::CUDA : dezero::Device::CPU;
  dezero::manual_seed(o.seed);
  const D::MNIST train(o.data, true, o.limit), test(o.data, false);
  const D::Transform normalize = D::Normalize(0.1307, 0.3081);
  D::DataLoader train_loader(
      train, o.batch_size,
      {.shuffle = true, .seed = o.seed, .transform = normalize, .device = device});
  D::DataLoader test_loader(test, 1000,
                            {.shuffle = false, .transform = normalize, .device = device});
  std::unique_ptr<L::Layer> model = make_model(o);
  model->build({1, 1, 28, 28}, dezero::Float32,
               device);  // sizes the lazy layers before the optimizer sees them
  std::unique_ptr<O::Optimizer> optimizer = make_optimizer(o, *model);
  // Cosine annealing: epoch e trains at lr (1 + cos(pi (e - 1) / epochs)) / 2.
  O::CosineAnnealing schedule(*optimizer, o.epochs);
  int first_epoch = 1;
  if (!o.resume.empty()) {
    const auto meta = O::load_checkpoint(o.resume, *model, *optimizer);
    DZ_CHECK(
        meta.count("model") && meta.at("model") == o.model && meta.at("optimizer") == o.optimizer,
        "mnist_cnn: {} was written for --model {} --optimizer {}", o.resume,
        meta.count("model") ? meta.at("model") : "?",
        meta.count("optimizer") ? meta.at("optimizer") : "?");
    const int done = std::stoi(meta.at("epoch"));
    first_epoch = done + 1;
    train_loader.set_epoch(done);  // the shuffling continues where it stopped
    if (o.schedule == "cosine") schedule.set_epoch(done);
    spdlog::info("resumed from {} after epoch {}", o.resume, done);
  }
  fmt::print("{}", model->summary());  // the layers, their parameter counts and output shapes
  spdlog::info("{} with {} parameters, {} on {} training / {} test images, batch {}, {} thread(s)",
               model->name(), model->num_params(), o.optimizer, train.size(), test.size(),
               o.batch_size, dezero::get_num_threads());

  std::filesystem::create_directories(o.out);
  const auto csv_path = std::filesystem::path(o.out) / "metrics.csv";
  const bool append =
      !o.resume.empty() && std::filesystem::exists(csv_path);  // a resumed run continues the file
  std::ofstream csv(csv_path, append ? std::ios::app : std::ios::trunc);
  if (!append)
    csv << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second\n";
  const auto steps_path = std::filesystem::path(o.out) / "steps.csv";
  const int64_t batches = train_loader.num_batches();
  StepLog steps(steps_path.string(), append, batches);
  const bool tty = ::isatty(STDERR_FILENO);
  std::signal(SIGINT, on_sigint);
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double epoch_lr = optimizer->lr;
    double loss_sum = 0, correct = 0, seen = 0;
    int64_t step = 0;
    for (auto [x, t] : train_loader) {
      if (g_interrupted) break;
      const Variable y = (*model)(Variable(x));
      const Variable loss = F::softmax_cross_entropy(y, t);
      model->clear_grads();
      loss.backward();
      optimizer->update();
      const double n = static_cast<double>(t.numel());
      const double batch_loss = loss.item(), batch_accuracy = F::accuracy(y, t).item();
      loss_sum += batch_loss * n;
      correct += batch_accuracy * n;
      seen += n;
      ++step;
      steps.add(epoch - 1 + static_cast<double>(step) / static_cast<double>(batches), batch_loss,
                batch_accuracy);
      // A live line on a terminal; plain lines every 10% otherwise.
      if (tty)
        std::fprintf(stderr, "\repoch %d [%5.1f%%] loss %.4f  %.0f images/s ", epoch,
                     100.0 * step / batches, loss_sum / seen, seen / seconds_since(t0));
      else if (step % std::max<int64_t>(1, batches / 10) == 0)
        spdlog::info("epoch {} {:3.0f}%  loss {:.4f}", epoch, 100.0 * step / batches,
                     loss_sum / seen);
    }
    if (tty) std::fprintf(stderr, "\r%*s\r", 60, "");
    if (g_interrupted) {
      // The checkpoint counts only finished epochs: --resume repeats this one from its start,
      // with the weights as they are now.
      const std::string path =
          o.checkpoint.empty() ? (std::filesystem::path(o.out) / "interrupted.safetensors").string()
                               : o.checkpoint;
      O::save_checkpoint(path, *model, *optimizer,
                         {{"epoch", std::to_string(epoch - 1)},
                          {"model", o.model},
                          {"optimizer", o.optimizer},
                          {"interrupted_at_batch", std::to_string(step)}});
      spdlog::warn(
          "interrupted in epoch {} after {} batches; checkpoint written to {} (use --resume)",
          epoch, step, path);
      return 130;
    }
    const double train_seconds = seconds_since(t0);
    const L::Evaluation test_eval = L::evaluate(*model, test_loader);
    const double test_loss = test_eval.loss, test_acc = test_eval.accuracy.value();
    spdlog::info(
        "epoch {}: lr {:.2e} | train loss {:.4f} accuracy {:.4f} | test loss {:.4f} accuracy "
        "{:.4f} | {:.1f} s, {:.0f} images/s",
        epoch, epoch_lr, loss_sum / seen, correct / seen, test_loss, test_acc, train_seconds,
        seen / train_seconds);
    if (o.schedule == "cosine") schedule.step();
    if (!o.checkpoint.empty())
      O::save_checkpoint(
          o.checkpoint, *model, *optimizer,
          {{"epoch", std::to_string(epoch)}, {"model", o.model}, {"optimizer", o.optimizer}});
    csv << fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f},{:.1f}\n", epoch, loss_sum / seen,
                       correct / seen, test_loss, test_acc, train_seconds, seen / train_seconds)
        << std::flush;
  }
  spdlog::info("metrics written to {}", csv_path.string());
  csv.close();
  std::string why;
  const auto curves = std::filesystem::path(o.out) / "training_curves.png";
  const std::string title = fmt::format(
      "mnist\\_cnn: {} ({} parameters), {} lr {:g} ({} schedule), batch {}, {} epoch{}, {} images",
      o.model, model->num_params(), o.optimizer, o.lr, o.schedule, o.batch_size, o.epochs,
      o.epochs == 1 ? "" : "s", train.size());
  if (plot_training_curves(steps_path.string(), csv_path.string(), title, curves.string(), why))
    spdlog::info("training curves drawn in {}", curves.string());
  else
    spdlog::info("no training curves: {}", why);
  const auto filters = std::filesystem::path(o.out) / "filters.png";
  if (write_filter_grid(model->params().front().data(), filters.string(), why))
    spdlog::info("first-layer filters drawn in {}", filters.string());
  else
    spdlog::info("no filter picture: {}", why);
  if (!o.save.empty()) {
    model->save(o.save);
    spdlog::info("weights written to {}", o.save);
  }
  return 0;
}

int main(int argc, char** argv) {
  Options o;
  examples::Cli app{"Train a CNN on MNIST with dezero-cpp"};
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--epochs", o.epochs, "epochs")->check(examples::at_least(1));
  app.add_option("--batch-size", o.batch_size, "batch size")->check(examples::at_least(1));
  app.add_option("--lr", o.lr, "learning rate")->check(examples::greater_than(0));
  app.add_option("--optimizer", o.optimizer, "adam, adamw, sgd or momentum")
      ->check(CLI::IsMember({"adam", "adamw", "sgd", "momentum"}));
  app.add_option("--schedule", o.schedule,
                 "learning rate per epoch: cosine (annealed to 0 over the epochs) or none")
      ->check(CLI::IsMember({"cosine", "none"}));
  app.add_option("--model", o.model, "lenet, grouped or mlp")
      ->check(CLI::IsMember({"lenet", "grouped", "mlp"}));
  app.add_option("--groups", o.groups,
                 "groups of the grouped model's 1x1 convolutions (divides 32)")
      ->check(examples::at_least(1));
  app.add_option("--seed", o.seed, "seed of the initialization and the shuffling");
  app.add_option("--threads", o.threads, "CPU threads (0: all cores)")
      ->check(examples::at_least(0));
  app.add_option("--limit", o.limit, "train on the first N training images only (0: all)")
      ->check(examples::at_least(0));
  app.add_option("--data", o.data, "directory of the MNIST IDX files")
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", o.out, "directory for metrics.csv, training_curves.png and filters.png");
  app.add_option("--save", o.save, "write the trained model's weights here (safetensors)");
  app.add_option("--checkpoint", o.checkpoint,
                 "write a checkpoint (model, optimizer, epoch) here after every epoch");
  app.add_option("--resume", o.resume, "continue training from this checkpoint")
      ->check(CLI::ExistingFile);
  app.add_flag("--detect-anomaly", o.detect_anomaly,
               "check every function's outputs and gradients for NaN/Inf and stop at the first one "
               "(slower)");
  return app.run(argc, argv, [&] { return run_training(o); });
}
