// The same work in dezero-cpp and in LibTorch, timed in one process, alternating the two
// (A B B A ...) so that machine drift cancels, medians per side, ratio = ours / theirs.
//
//   side_by_side [--smoke] [--threads 1,2] [--csv FILE] [--filter TEXT]   the timing table (rows containing TEXT)
//   side_by_side --report DOC CSV...                            splices the tables into DOC
//   side_by_side --rss-epoch dezero|libtorch [--batches N]     peak RSS of an MNIST epoch, and before it
//
// bench/run_side_by_side.sh runs it all (LibTorch's default and tuned environments) and writes
// docs/PERFORMANCE.md's tables.

#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "bench_common.h"

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Tensor;
using dezero::Variable;
using dezero::bench::ConvConfig;
using dezero::bench::kConvConfigs;
using dezero::bench::labels;

namespace {

// ---- the work, twice ----

using Work = std::function<void()>;

struct Pair {
  Work ours, theirs;
};

Pair conv_pair(const ConvConfig& c) {
  dezero::manual_seed(0);
  auto x = std::make_shared<Variable>(Tensor::randn({c.N, c.C, c.H, c.W}));
  auto W = std::make_shared<Variable>(Tensor::randn({c.OC, c.C / c.groups, c.k, c.k}));
  auto b = std::make_shared<Variable>(Tensor::randn({c.OC}));
  const F::Conv2dOptions o{c.stride, c.pad, 1, c.groups};
  const int64_t OH = (c.H + 2 * c.pad - c.k) / c.stride + 1, OW = (c.W + 2 * c.pad - c.k) / c.stride + 1;
  auto gy = std::make_shared<Variable>(Tensor::randn({c.N, c.OC, OH, OW}));
  Work ours = [=] {
    const Variable y = F::conv2d(*x, *W, *b, o);
    const auto g = dezero::grad({y}, {*x, *W, *b}, {*gy});
  };
  torch::manual_seed(0);
  auto tx = torch::randn({c.N, c.C, c.H, c.W}).requires_grad_();
  auto tW = torch::randn({c.OC, c.C / c.groups, c.k, c.k}).requires_grad_();
  auto tb = torch::randn({c.OC}).requires_grad_();
  auto tgy = torch::randn({c.N, c.OC, OH, OW});
  Work theirs = [=] {
    const auto y = torch::conv2d(tx, tW, tb, c.stride, c.pad, 1, c.groups);
    const auto g = torch::autograd::grad({y}, {tx, tW, tb}, {tgy});
  };
  return {ours, theirs};
}

Pair max_pool_pair() {
  dezero::manual_seed(0);
  auto x = std::make_shared<Variable>(Tensor::randn({64, 32, 28, 28}));
  auto gy = std::make_shared<Variable>(Tensor::randn({64, 32, 14, 14}));
  Work ours = [=] { const auto g = dezero::grad({F::max_pool2d(*x, 2)}, {*x}, {*gy}); };
  auto tx = torch::randn({64, 32, 28, 28}).requires_grad_();
  auto tgy = torch::randn({64, 32, 14, 14});
  Work theirs = [=] { const auto g = torch::autograd::grad({torch::max_pool2d(tx, 2)}, {tx}, {tgy}); };
  return {ours, theirs};
}

torch::nn::Sequential torch_lenet() {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Linear(128, 10));
}

torch::nn::Sequential torch_mlp() {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Linear(784, 1000), nn::ReLU(), nn::Linear(1000, 1000), nn::ReLU(), nn::Linear(1000, 10));
}

// One training step (forward, softmax cross entropy, backward, momentum SGD) on a fixed batch.
Pair step_pair(std::shared_ptr<L::Layer> model, torch::nn::Sequential tmodel, const dezero::Shape& x_shape) {
  dezero::manual_seed(0);
  const int64_t n = x_shape[0];
  const Tensor x = Tensor::randn(x_shape), target = labels(n);
  (*model)(Variable(x));  // sizes the lazy layers
  auto opt = std::make_shared<O::MomentumSGD>(*model, O::MomentumOptions{.lr = 0.01});
  Work ours = [=] {
    const Variable loss = F::softmax_cross_entropy((*model)(Variable(x)), target);
    model->clear_grads();
    loss.backward();
    opt->update();
  };
  auto tx = torch::randn(x_shape);
  auto tt = torch::arange(n, torch::kLong) % 10;
  auto topt = std::make_shared<torch::optim::SGD>(tmodel->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  Work theirs = [=]() mutable {
    const auto loss = torch::nn::functional::cross_entropy(tmodel->forward(tx), tt);
    topt->zero_grad();
    loss.backward();
    topt->step();
  };
  return {ours, theirs};
}

// ---- timing ----

double seconds_of(const Work& w, int iterations) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) w();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iterations;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Result {
  std::string row;
  int threads;
  double ours_ms, theirs_ms;
};

// Warm-up, then `rounds` rounds of A B (odd rounds B A), each sample averaging enough
// iterations for ~`sample_s` seconds.
Result measure(const std::string& row, int threads, const Pair& p, int rounds, double sample_s) {
  dezero::set_num_threads(threads);
  torch::set_num_threads(threads);
  p.ours();
  p.theirs();
  const double one = std::max(seconds_of(p.ours, 1), seconds_of(p.theirs, 1));
  const int iterations = std::max(1, static_cast<int>(sample_s / std::max(one, 1e-6)));
  std::vector<double> a, b;
  for (int r = 0; r < rounds; ++r) {
    if (r % 2 == 0) {
      a.push_back(seconds_of(p.ours, iterations));
      b.push_back(seconds_of(p.theirs, iterations));
    } else {
      b.push_back(seconds_of(p.theirs, iterations));
      a.push_back(seconds_of(p.ours, iterations));
    }
  }
  return {row, threads, 1e3 * median(a), 1e3 * median(b)};
}

std::string conv_label(const ConvConfig& c) { return fmt::format("conv2d fwd+bwd {}", dezero::bench::label(c)); }

std::vector<Result> run_all(const std::vector<int>& thread_counts, bool smoke, const std::string& filter) {
  const int rounds = smoke ? 2 : 7;
  const double sample_s = smoke ? 0.0 : 0.25;
  std::vector<Result> out;
  auto run = [&](const std::string& row, const Pair& p) {
    if (row.find(filter) == std::string::npos) return;
    for (int t : thread_counts) {
      out.push_back(measure(row, t, p, rounds, sample_s));
      const Result& r = out.back();
      std::cerr << fmt::format("{:<48} {} thr  dezero {:9.3f} ms  libtorch {:9.3f} ms  ratio {:.2f}\n", r.row,
                               r.threads, r.ours_ms, r.theirs_ms, r.ours_ms / r.theirs_ms);
    }
  };
  for (const ConvConfig& c : kConvConfigs) run(conv_label(c), conv_pair(c));
  run("max_pool2d 2x2 fwd+bwd (64,32,28,28)", max_pool_pair());
  for (int64_t batch : {64, 256})
    run(fmt::format("LeNet-style CNN step, batch {}", batch),
        step_pair(std::make_shared<L::LeNet>(), torch_lenet(), {batch, 1, 28, 28}));
  run("MLP 784-1000-1000-10 step, batch 100",
      step_pair(std::make_shared<L::MLP>(std::vector<int64_t>{1000, 1000, 10}), torch_mlp(), {100, 784}));
  return out;
}

// ---- peak memory of an MNIST epoch ----

int64_t peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

int rss_epoch(const std::string& side, int64_t max_batches) {
  const D::MNIST train(DEZERO_MNIST_DIR, true);
  D::DataLoader loader(train, 64, {.shuffle = true, .seed = 0, .transform = D::Normalize(0.1307, 0.3081)});
  int64_t batches = 0;
  // Both sides share this floor (the process with LibTorch loaded, and the dataset): the peak
  // before the first batch, reported next to the epoch's so the loop's own growth shows.
  const int64_t floor_mib = peak_rss_mib();
  if (side == "dezero") {
    L::LeNet model;
    O::MomentumSGD opt(model, {.lr = 0.01});
    for (auto [x, t] : loader) {
      const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
      model.clear_grads();
      loss.backward();
      opt.update();
      if (++batches == max_batches) break;
    }
  } else if (side == "libtorch") {
    auto model = torch_lenet();
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    for (auto [x, t] : loader) {
      const auto tx = torch::from_blob(x.raw_data(), x.shape(), torch::kFloat32);
      std::vector<float> tf(static_cast<size_t>(t.numel()));
      std::copy_n(t.data<float>(), tf.size(), tf.begin());
      const auto tt = torch::tensor(tf).to(torch::kLong);
      const auto loss = torch::nn::functional::cross_entropy(model->forward(tx), tt);
      opt.zero_grad();
      loss.backward();
      opt.step();
      if (++batches == max_batches) break;
    }
  } else {
    std::cerr << "--rss-epoch takes dezero or libtorch\n";
    return 2;
  }
  std::cout << fmt::format("{},{},{},{}\n", side, batches, peak_rss_mib(), floor_mib);
  return 0;
}

// ---- the report ----

// CSV lines "row,threads,ours_ms,theirs_ms" from each environment's run; per row, the run in
// which LibTorch was faster is the one reported.
std::string report(const std::vector<std::string>& csv_paths, const std::vector<std::string>& env_names) {
  std::map<std::pair<std::string, int>, std::pair<Result, std::string>> best;
  std::vector<std::pair<std::string, int>> order;
  for (size_t f = 0; f < csv_paths.size(); ++f) {
    std::ifstream in(csv_paths[f]);
    DZ_CHECK(in.good(), "side_by_side: cannot read {}", csv_paths[f]);
    std::string line;
    while (std::getline(in, line)) {
      std::stringstream ss(line);
      Result r;
      std::string threads, ours, theirs;
      std::getline(ss, r.row, ';');
      std::getline(ss, threads, ';');
      std::getline(ss, ours, ';');
      std::getline(ss, theirs, ';');
      r.threads = std::stoi(threads);
      r.ours_ms = std::stod(ours);
      r.theirs_ms = std::stod(theirs);
      const auto key = std::make_pair(r.row, r.threads);
      auto it = best.find(key);
      if (it == best.end()) order.push_back(key);
      if (it == best.end() || r.theirs_ms < it->second.first.theirs_ms) best[key] = {r, env_names[f]};
    }
  }
  std::string md = "| work | threads | dezero-cpp (ms) | LibTorch (ms) | ratio | LibTorch's faster setting |\n"
                   "|---|---|---|---|---|---|\n";
  for (const auto& key : order) {
    const auto& [r, env] = best.at(key);
    md += fmt::format("| {} | {} | {:.3f} | {:.3f} | **{:.2f}** | {} |\n", r.row, r.threads, r.ours_ms, r.theirs_ms,
                      r.ours_ms / r.theirs_ms, env);
  }
  return md;
}

void splice(const std::string& doc_path, const std::string& begin, const std::string& end, const std::string& text) {
  std::ifstream in(doc_path);
  DZ_CHECK(in.good(), "side_by_side: cannot read {}", doc_path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  const size_t a = doc.find(begin), b = doc.find(end);
  DZ_CHECK(a != std::string::npos && b != std::string::npos && a < b, "side_by_side: {} lacks the markers {} ... {}",
           doc_path, begin, end);
  doc = doc.substr(0, a + begin.size()) + "\n" + text + doc.substr(b);
  dezero::io::atomic_write(doc_path, "side_by_side", [&](dezero::io::FileSink& f) { f.write(doc); });
}

std::vector<int> parse_threads(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "--rss-epoch") {
      DZ_CHECK(args.size() >= 2, "side_by_side: --rss-epoch dezero|libtorch [--batches N]");
      const int64_t batches = args.size() >= 4 && args[2] == "--batches" ? std::stoll(args[3]) : 0;
      return rss_epoch(args[1], batches);
    }
    if (!args.empty() && args[0] == "--report") {
      // --report DOC ENV1=CSV1 ENV2=CSV2 [RSS_TABLE_FILE]
      DZ_CHECK(args.size() >= 3, "side_by_side: --report DOC NAME=CSV... [--rss FILE]");
      std::vector<std::string> csvs, names;
      std::string rss_text;
      for (size_t i = 2; i < args.size(); ++i) {
        if (args[i] == "--rss" && i + 1 < args.size()) {
          std::ifstream in(args[++i]);
          std::stringstream ss;
          ss << in.rdbuf();
          rss_text = ss.str();
          continue;
        }
        const size_t eq = args[i].rfind('=');  // the name may hold '=' (OMP_WAIT_POLICY=PASSIVE)
        DZ_CHECK(eq != std::string::npos, "side_by_side: expected NAME=CSV, got {}", args[i]);
        names.push_back(args[i].substr(0, eq));
        csvs.push_back(args[i].substr(eq + 1));
      }
      splice(args[1], "<!-- side-by-side:begin -->", "<!-- side-by-side:end -->", report(csvs, names));
      if (!rss_text.empty()) splice(args[1], "<!-- rss:begin -->", "<!-- rss:end -->", rss_text);
      return 0;
    }
    bool smoke = false;
    std::vector<int> threads{1, 2};
    std::string csv, filter;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--smoke") smoke = true;
      else if (args[i] == "--threads" && i + 1 < args.size()) threads = parse_threads(args[++i]);
      else if (args[i] == "--csv" && i + 1 < args.size()) csv = args[++i];
      else if (args[i] == "--filter" && i + 1 < args.size()) filter = args[++i];
      else DZ_THROW("side_by_side: unknown argument '{}' (see the comment at the top of bench/side_by_side.cpp)", args[i]);
    }
    const auto results = run_all(threads, smoke, filter);
    if (!csv.empty()) {
      std::ofstream out(csv);
      for (const Result& r : results)
        out << fmt::format("{};{};{:.4f};{:.4f}\n", r.row, r.threads, r.ours_ms, r.theirs_ms);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
