// Device discovery that never throws: on a machine without a GPU or driver, cudaGetDeviceCount
// fails ("CUDA driver version is insufficient", "no CUDA-capable device"); that means "no GPU".

#include <cuda_runtime.h>

#include "core/cuda.h"

namespace dezero::cuda {

int device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error so later calls start clean
      return 0;
    }
    return n;
  }();
  return count;
}

bool is_available() { return device_count() > 0; }

bool is_built() { return true; }

}  // namespace dezero::cuda
