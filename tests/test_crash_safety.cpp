// Crash safety of checkpoints: a writer process is SIGKILLed at random points while it saves
// checkpoints over and over; every time, the file at the checkpoint's path still loads, whole and
// self-consistent, and stale temporary files are cleaned up by the next save.
//
// The writer is this same test binary run with DEZERO_CRASH_WRITER=<path> (a fresh process, not
// a bare fork: OpenMP's thread pool does not survive fork).

#include "test_helpers.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

extern char** environ;

namespace L = dezero::layers;
namespace O = dezero::optimizers;
using namespace dezero;
namespace fs = std::filesystem;

namespace {

// ~1.6 M parameters (6 MB) plus Adam's two moments: a save takes long enough to be hit mid-way.
std::unique_ptr<L::Sequential> big_model() {
  auto m = std::make_unique<L::Sequential>(L::Sequential{L::Linear(1024), L::Linear(512)});
  (*m)(Variable(Tensor::zeros({1, 1024})));
  return m;
}

// Every parameter and optimizer slot holds `value`, and the metadata says so: a loaded file whose
// tensors disagree with its metadata would be a torn write.
void fill_and_save(const std::string& path, L::Layer& model, O::Adam& opt, int value) {
  if (opt.state_dict(model).empty()) {
    for (Parameter p : model.params()) p.set_grad(Variable(Tensor::zeros(p.shape())));
    opt.update();  // creates Adam's moment slots (a zero gradient moves nothing)
  }
  for (Parameter p : model.params()) p.set_data(Tensor::full(p.shape(), value));
  opt.lr = value;
  O::save_checkpoint(path, model, opt, {{"value", std::to_string(value)}});
}

}  // namespace

TEST(CrashSafetyTest, WriterRole) {
  const char* path = std::getenv("DEZERO_CRASH_WRITER");
  if (!path) GTEST_SKIP() << "the writer process of KilledMidSaveLeavesALoadableCheckpoint";
  auto model = big_model();
  O::Adam opt(*model);
  for (int value = std::atoi(std::getenv("DEZERO_CRASH_START"));; ++value) fill_and_save(path, *model, opt, value);
}

TEST(CrashSafetyTest, KilledMidSaveLeavesALoadableCheckpoint) {
  const fs::path dir = fs::temp_directory_path() / ("dezero_crash_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "ckpt.safetensors").string();
  auto model = big_model();
  O::Adam opt(*model);
  fill_and_save(path, *model, opt, 0);
  const auto t0 = std::chrono::steady_clock::now();
  fill_and_save(path, *model, opt, 1);
  const auto save_time = std::chrono::steady_clock::now() - t0;

  std::mt19937 rng(1234);
  constexpr int kTrials = 20;
  int killed_mid_save = 0, last_value = 1;
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::string exe = fs::read_symlink("/proc/self/exe").string();
    const std::string start = std::to_string(100 * (trial + 1));
    std::vector<std::string> env_strings{"DEZERO_CRASH_WRITER=" + path, "DEZERO_CRASH_START=" + start};
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=CrashSafetyTest.WriterRole";
    char* argv[] = {const_cast<char*>(exe.c_str()), filter.data(), nullptr};
    pid_t child = 0;
    ASSERT_EQ(posix_spawn(&child, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    // Wait until the child is writing its temporary file, then kill it at a random point of a
    // save (or of the next one).
    const fs::path tmp = path + ".tmp." + std::to_string(child);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(tmp) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    ASSERT_TRUE(fs::exists(tmp)) << "the writer never started saving";
    std::uniform_int_distribution<int64_t> delay(0, 3 * std::chrono::duration_cast<std::chrono::microseconds>(save_time).count() / 2);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself";
    killed_mid_save += fs::exists(tmp);

    // Whatever the moment, the checkpoint is a whole one: every tensor holds the value its
    // metadata names, and that value is the last complete save's or an earlier one's.
    auto loaded = big_model();
    O::Adam loaded_opt(*loaded);
    std::map<std::string, std::string> meta;
    ASSERT_NO_THROW(meta = O::load_checkpoint(path, *loaded, loaded_opt)) << "trial " << trial;
    const int value = std::stoi(meta.at("value"));
    EXPECT_TRUE(value == last_value || value >= std::stoi(start)) << "trial " << trial << ": value " << value;
    EXPECT_EQ(loaded_opt.lr, value);
    for (const Parameter& p : loaded->params())
      EXPECT_TENSOR_NEAR(p.data(), Tensor::full(p.shape(), value), 0.0);
    last_value = value;
  }
  EXPECT_GT(killed_mid_save, 0) << "no kill landed inside a save; the test proved nothing";
  std::cout << killed_mid_save << " of " << kTrials << " kills landed inside a save\n";

  // The next save removes the temporary files of the killed writers.
  fill_and_save(path, *model, opt, 2);
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().string(), path) << "stale file left behind";
  fs::remove_all(dir);
}
