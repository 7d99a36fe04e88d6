#include <cmath>
#include <random>

#include "dezero/core/error.h"
#include "dezero/datasets/dataset.h"

namespace dezero::datasets {

Spiral::Spiral(bool train, int64_t num_data, int64_t num_class) {
  DZ_CHECK(num_data >= 1 && num_class >= 1, "Spiral: need positive sizes; got {} and {}", num_data,
           num_class);
  // DeZero's get_spiral: arm j, point i: radius i/N, angle 4 j + 4 i/N + noise 0.2 N(0, 1).
  std::mt19937_64 gen(train ? 1984 : 2020);
  std::normal_distribution<double> noise(0.0, 1.0);
  const int64_t n = num_data * num_class;
  std::vector<float> points(static_cast<size_t>(2 * n)), labels(static_cast<size_t>(n));
  for (int64_t j = 0; j < num_class; ++j)
    for (int64_t i = 0; i < num_data; ++i) {
      const double rate = static_cast<double>(i) / num_data;
      const double radius = rate, theta = j * 4.0 + 4.0 * rate + noise(gen) * 0.2;
      const int64_t k = num_data * j + i;
      points[2 * k] = static_cast<float>(radius * std::sin(theta));
      points[2 * k + 1] = static_cast<float>(radius * std::cos(theta));
      labels[k] = static_cast<float>(j);
    }
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen() % i]);
  for (int64_t k : order) {
    points_.push_back(points[2 * k]);
    points_.push_back(points[2 * k + 1]);
    labels_.push_back(labels[k]);
  }
}

void Spiral::fill_batch(std::span<const int64_t> indices, float* x, float* t) const {
  for (size_t b = 0; b < indices.size(); ++b) {
    x[2 * b] = points_[2 * indices[b]];
    x[2 * b + 1] = points_[2 * indices[b] + 1];
    t[b] = labels_[indices[b]];
  }
}

}  // namespace dezero::datasets
