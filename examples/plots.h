#pragma once
// Pictures of a training run for mnist_cnn: the first layer's filters as a PNG grid, and the
// loss/accuracy curves of metrics.csv drawn by gnuplot when it is installed.

#include <string>

#include "dezero/core/tensor.h"

/// Writes filters W (OC, C, KH, KW), channel 0, as a grid of 8x-enlarged grayscale tiles, each
/// scaled to its own range. Returns false (with why) when the file cannot be written.
bool write_filter_grid(const dezero::Tensor& W, const std::string& path, std::string& why);

/// Draws loss and accuracy per epoch from metrics.csv into png with gnuplot. Returns false
/// (with why) when gnuplot is missing or fails.
bool plot_training_curves(const std::string& csv, const std::string& png, std::string& why);
