#include "dezero/core/config.h"

namespace dezero {

bool& Config::enable_backprop() {
  static thread_local bool flag = true;
  return flag;
}

bool& Config::train() {
  static thread_local bool flag = true;
  return flag;
}

bool& Config::detect_anomaly() {
  static thread_local bool flag = false;
  return flag;
}

GradModeGuard::GradModeGuard(bool enabled) : previous_(Config::enable_backprop()) {
  Config::enable_backprop() = enabled;
}

GradModeGuard::~GradModeGuard() { Config::enable_backprop() = previous_; }

TrainModeGuard::TrainModeGuard(bool training) : previous_(Config::train()) { Config::train() = training; }

TrainModeGuard::~TrainModeGuard() { Config::train() = previous_; }

DetectAnomalyGuard::DetectAnomalyGuard(bool enabled) : previous_(Config::detect_anomaly()) {
  Config::detect_anomaly() = enabled;
}

DetectAnomalyGuard::~DetectAnomalyGuard() { Config::detect_anomaly() = previous_; }

}  // namespace dezero
