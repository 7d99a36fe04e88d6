#include "dezero/core/error.h"
#include "dezero/core/index.h"
#include "dezero/core/ops.h"
#include "dezero/datasets/dataset.h"

namespace dezero::datasets {

TensorDataset::TensorDataset(Tensor x, Tensor t) : x_(std::move(x)), t_(std::move(t)) {
  DZ_CHECK(x_.defined() && t_.defined(), "TensorDataset: x and t must both be tensors");
  DZ_CHECK(x_.ndim() >= 1 && t_.ndim() >= 1 && x_.size(0) == t_.size(0) && x_.size(0) >= 1,
           "TensorDataset: x and t need the same number N >= 1 of rows (their first dimension); "
           "got x {} and t {}",
           to_string(x_.shape()), to_string(t_.shape()));
}

Batch TensorDataset::get_batch(std::span<const int64_t> indices) const {
  const std::vector<int64_t> rows(indices.begin(), indices.end());
  const IndexList index{Index(rows)};
  return {ops::gather(x_, resolve_index(x_.shape(), index)),
          ops::gather(t_, resolve_index(t_.shape(), index))};
}

}  // namespace dezero::datasets
