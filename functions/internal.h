#pragma once
// Building blocks shared between function files (not part of the F:: surface).

#include <memory>

#include "core/index.h"
#include "core/variable.h"

namespace dezero::functions::detail {

/// y = x at a resolved index (GetItem); its backward is a scatter-add, itself differentiable.
Variable gather(const Variable& x, std::shared_ptr<const ResolvedIndex> index);

}  // namespace dezero::functions::detail
