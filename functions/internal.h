#pragma once
// Building blocks shared between function files (not part of the F:: surface).

#include <memory>

#include "dezero/core/conv.h"
#include "dezero/core/index.h"
#include "dezero/core/variable.h"

namespace dezero::functions::detail {

/// y = x at a resolved index (GetItem); its backward is a scatter-add, itself differentiable.
Variable gather(const Variable& x, std::shared_ptr<const ResolvedIndex> index);
/// The scatter-add of gy into zeros of the index's x shape (GetItem's backward; its own backward
/// is a GetItem).
Variable scatter_add(const Variable& gy, std::shared_ptr<const ResolvedIndex> index);

/// The differentiable im2col of an already validated geometry (pooling's ceil-mode output sizes).
Variable im2col(const Variable& x, const Conv2dGeometry& g);

}  // namespace dezero::functions::detail
