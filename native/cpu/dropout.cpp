// Inverted dropout with a regenerated mask:
//   keep_i = uniform(seed, offset + i) >= p,   out_i = keep_i ? x_i / (1 - p) : 0
// where uniform is lmt::uniform_at (Philox4x32-10, top 24 bits of output word 0). Nothing is
// saved: backward recomputes the same mask from (seed, offset) and applies it to dout.
//
// Contract: outputs are written with `=`; each element depends only on its own counter, so
// results are bitwise independent of the thread count (and match the CUDA kernel's mask).
#include <cmath>

#include "checks.h"
#include "core.h"

namespace {

const int64_t kGrain = 16384;

lmt_status dropout_apply(const char* fn, float* out, const float* x, int64_t n, float p,
                         uint64_t seed, uint64_t offset) {
  LMT_CHECK(lmt::check_dropout(fn, out, x, n, p));
  if (n == 0) return LMT_OK;
  const float scale = 1.0f / (1.0f - p);
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      out[i] = lmt::uniform_at(seed, offset + (uint64_t)i) >= p ? x[i] * scale : 0.0f;
  });
  return LMT_OK;
}

}  // namespace

extern "C" lmt_status lmt_dropout_forward(float* out, const float* x, int64_t n, float p,
                                          uint64_t seed, uint64_t offset) {
  LMT_GUARD_BEGIN
  return dropout_apply(__func__, out, x, n, p, seed, offset);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_dropout_backward(float* dx, const float* dout, int64_t n, float p,
                                           uint64_t seed, uint64_t offset) {
  LMT_GUARD_BEGIN
  return dropout_apply(__func__, dx, dout, n, p, seed, offset);
  LMT_GUARD_END
}
