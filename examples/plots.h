#pragma once
// Pictures of a training run for mnist_cnn: the first layer's filters as a PNG grid, and the
// loss/accuracy curves (per step, smoothed, and per epoch) drawn by gnuplot when it is installed.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "dezero/core/tensor.h"

/// An RGB picture of filters: tiles of `scale` pixels per weight between dark separators.
struct FilterGrid {
  static constexpr int64_t kGap = 3;               ///< separator width in pixels
  static constexpr unsigned char kSeparator = 48;  ///< separator grey
  int64_t width = 0, height = 0, scale = 0;
  std::vector<unsigned char> rgb;  ///< row-major, 3 bytes per pixel
};

/// Filters W (OC, C, KH, KW), channel 0, as a grid (see write_filter_grid).
FilterGrid filter_grid(const dezero::Tensor& W);

/// Writes filters W (OC, C, KH, KW), channel 0, as a grid of enlarged tiles on one colour scale
/// (red positive, blue negative, white 0, full colour at max |w|) with dark separators.
/// Returns false (with why) when W is not 4-d or the file cannot be written.
bool write_filter_grid(const dezero::Tensor& W, const std::string& path, std::string& why);

/// Writes steps.csv for plot_training_curves: per step, the epoch as a fraction, the batch's loss
/// and accuracy, and their exponential moving averages (bias-corrected, so short runs plot too).
class StepLog {
 public:
  /// Opens path, continuing it when append (a resumed run) and it exists; the averages span
  /// about a twentieth of an epoch (1 to 50 steps).
  StepLog(const std::string& path, bool append, int64_t steps_per_epoch);
  /// Records one step that ends at fractional epoch `epoch`.
  void add(double epoch, double loss, double accuracy);

 private:
  std::ofstream file_;
  double decay_;
  double loss_avg_ = 0, accuracy_avg_ = 0, weight_ = 0;
  int64_t steps_ = 0;
};

/// Draws loss and accuracy from steps_csv (step,epoch,loss,accuracy smoothed per step) and
/// epochs_csv (metrics.csv) into png with gnuplot, under title. Returns false (with why) when
/// gnuplot is missing or fails.
bool plot_training_curves(const std::string& steps_csv, const std::string& epochs_csv,
                          const std::string& title, const std::string& png, std::string& why);
