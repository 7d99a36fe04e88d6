// A CPU-only user program, as small as one gets. Run by the Packaging.* tests: it must start
// with a small resident set (argument: the limit in KiB; 0 skips that check) and must not load
// the CUDA backend or any CUDA library while it trains one step on the CPU.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <dezero/dezero.h>

namespace {
// The kB number on the line of /proc/self/<file> that starts with `key`, or -1.
long proc_field(const char* file, const std::string& key) {
  std::ifstream in(std::string("/proc/self/") + file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + key.size());
  return -1;
}

bool maps_mention_cuda() {
  std::ifstream in("/proc/self/maps");
  for (std::string line; std::getline(in, line);)
    if (line.find("cuda") != std::string::npos || line.find("cublas") != std::string::npos) return true;
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  const long rss_kb = proc_field("status", "VmRSS:");
  const long limit_kb = argc > 1 ? std::atol(argv[1]) : 0;
  std::cout << "RSS at main(): " << rss_kb << " KiB\n";
  namespace L = dezero::layers;
  L::Linear model(3);
  dezero::optimizers::SGD opt(model, 0.1);
  dezero::Variable x(dezero::Tensor::ones({4, 2}));
  dezero::Variable loss = dezero::functions::sum(model(x) * model(x));
  loss.backward();
  opt.update();
  if (limit_kb > 0 && (rss_kb < 0 || rss_kb >= limit_kb)) {
    std::cerr << "cpu_program: RSS at main() " << rss_kb << " KiB, the limit is " << limit_kb << " KiB\n";
    return 1;
  }
  if (maps_mention_cuda()) {
    std::cerr << "cpu_program: a CUDA library was loaded by a CPU-only program\n";
    return 1;
  }
  std::cout << "trained one step on the cpu, no CUDA library loaded\n";
  return 0;
}
