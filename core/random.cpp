#include "dezero/core/random.h"

#include <bit>
#include <cmath>
#include <numbers>
#include <random>
#include <sstream>

#include "dezero/core/error.h"

#include "dezero/core/tensor.h"

namespace dezero {
namespace {

struct GlobalGenerator {
  std::mt19937_64 engine{0};
  bool has_spare = false;
  double spare = 0;
};

GlobalGenerator& generator() {
  static GlobalGenerator g;
  return g;
}

std::mutex& generator_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void manual_seed(uint64_t seed) {
  const auto lock = random::hold();
  generator() = GlobalGenerator{};
  generator().engine.seed(seed);
}

std::string random_state() {
  const auto lock = random::hold();
  std::ostringstream os;
  const GlobalGenerator& g = generator();
  // The spare normal as its bit pattern: exact, and iostreams do not read hexfloat back.
  os << g.engine << ' ' << g.has_spare << ' ' << std::bit_cast<uint64_t>(g.spare);
  return os.str();
}

void set_random_state(const std::string& state) {
  std::istringstream is(state);
  GlobalGenerator g;
  uint64_t spare_bits = 0;
  is >> g.engine >> g.has_spare >> spare_bits;
  DZ_CHECK(!is.fail(), "set_random_state: not a generator state written by random_state()");
  g.spare = std::bit_cast<double>(spare_bits);
  const auto lock = random::hold();
  generator() = g;
}

namespace random {

std::unique_lock<std::mutex> hold() { return std::unique_lock<std::mutex>(generator_mutex()); }

double uniform01() { return static_cast<double>(generator().engine() >> 11) * 0x1.0p-53; }

double normal() {
  GlobalGenerator& g = generator();
  if (g.has_spare) {
    g.has_spare = false;
    return g.spare;
  }
  // Box-Muller: two uniforms give two independent normals.
  const double u1 = 1.0 - uniform01(), u2 = uniform01();
  const double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * std::numbers::pi * u2;
  g.spare = r * std::sin(theta);
  g.has_spare = true;
  return r * std::cos(theta);
}

}  // namespace random
}  // namespace dezero
