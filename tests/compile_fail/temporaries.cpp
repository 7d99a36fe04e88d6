// Forms that must not compile: an optimizer, a DataLoader or a FreezeParam hook over a temporary
// (each keeps a reference that would dangle before its first use). Built by ctest twice per case
// (tests/CMakeLists.txt): without DANGEROUS the file compiles (so a typo cannot pass the test);
// with -DDANGEROUS=N case N must fail, with a "deleted" diagnostic.
#include <dezero/dezero.h>

namespace D = dezero::datasets;
namespace L = dezero::layers;
namespace O = dezero::optimizers;

L::Sequential make_model() { return L::Sequential{L::Linear(10), L::ReLU(), L::Linear(2)}; }

int main() {
  L::Sequential model = make_model();
  const D::Spiral data(true);
  O::SGD sgd(model, 0.1);  // lvalues: fine
  D::DataLoader loader(data, 10);
  auto freeze = O::FreezeParam(model);
#if DANGEROUS == 1
  O::SGD bad(make_model(), 0.1);
#elif DANGEROUS == 2
  O::Adam bad(make_model());
#elif DANGEROUS == 3
  O::MomentumSGD bad(make_model(), {.lr = 0.1});
#elif DANGEROUS == 4
  D::DataLoader bad(D::Spiral(true), 10);
#elif DANGEROUS == 5
  auto bad = O::FreezeParam(L::Linear(3));
#elif DANGEROUS == 6
  O::AdamW bad(make_model());
#elif DANGEROUS == 7
  O::AdaGrad bad(make_model());
#elif DANGEROUS == 8
  O::AdaDelta bad(make_model());
#endif
  (void)freeze;
  return 0;
}
