// Softmax and log-softmax over the last axis of (rows, cols), with an optional additive mask
// broadcast over rows, and their backward.
//
// Contract: outputs are written with `=`. One row is one unit of work, processed by one
// thread in a fixed order, so results are bitwise independent of the thread count. The max
// is subtracted before exponentiating (exp never overflows); row sums of exp and the dot
// products of the backward accumulate in double. A fully masked row (every score -inf) has
// no distribution: forward writes zeros and backward a zero gradient, never NaN.
#include <algorithm>
#include <cmath>

#include "checks.h"
#include "core.h"

namespace {
const int64_t kWork = 16384;  // elements per parallel chunk, in whole rows
}

extern "C" lmt_status lmt_softmax_forward(float* out, const float* x, const float* mask,
                                          int64_t rows, int64_t cols, int64_t mask_rows,
                                          int64_t mask_div, int log) {
  LMT_CHECK(lmt::check_softmax_forward(__func__, out, x, mask, rows, cols, mask_rows, mask_div,
                                       log));
  if (rows == 0 || cols == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(rows, std::max<int64_t>(1, kWork / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * cols;
      float* o = out + r * cols;
      // Pass 1: the scores z (x itself, or x + mask staged in `o`) and their max.
      const float* z = xr;
      if (mask) {
        const float* mr = mask + ((r / mask_div) % mask_rows) * cols;
        for (int64_t j = 0; j < cols; ++j) o[j] = xr[j] + mr[j];
        z = o;
      }
      const float mx = lmt::max_value(z, cols);  // NaN if any score is NaN: it propagates
      if (mx == -INFINITY) {  // fully masked
        for (int64_t j = 0; j < cols; ++j) o[j] = 0.0f;
        continue;
      }
      // Pass 2: exp(z - max) and its sum (double); pass 3: normalise.
      if (log) {
        const double sum = lmt::exp_sum(nullptr, z, mx, cols);
        const float ls = (float)std::log(sum);
        for (int64_t j = 0; j < cols; ++j) o[j] = (z[j] - mx) - ls;
      } else {
        const double sum = lmt::exp_sum(o, z, mx, cols);
        const float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < cols; ++j) o[j] *= inv;
      }
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_softmax_backward(float* dx, const float* dout, const float* y,
                                           int64_t rows, int64_t cols, int log) {
  LMT_CHECK(lmt::check_softmax_backward(__func__, dx, dout, y, rows, cols, log));
  if (rows == 0 || cols == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(rows, std::max<int64_t>(1, kWork / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* dy = dout + r * cols;
      const float* yr = y + r * cols;
      float* g = dx + r * cols;
      // Forward wrote an all-zero row only for a fully masked row (or a 1-column
      // log-softmax, whose gradient dy - 1*dy is zero too): no gradient flows.
      bool all_zero = true;
      for (int64_t j = 0; j < cols && all_zero; ++j) all_zero = yr[j] == 0.0f;
      if (all_zero) {
        for (int64_t j = 0; j < cols; ++j) g[j] = 0.0f;
        continue;
      }
      double s = 0.0;
      if (log) {
        for (int64_t j = 0; j < cols; ++j) s += dy[j];
        const float sf = (float)s;
        lmt::exp_sum(g, yr, 0.0f, cols);
        for (int64_t j = 0; j < cols; ++j) g[j] = dy[j] - g[j] * sf;
      } else {
        for (int64_t j = 0; j < cols; ++j) s += (double)dy[j] * (double)yr[j];
        const float sf = (float)s;
        for (int64_t j = 0; j < cols; ++j) g[j] = yr[j] * (dy[j] - sf);
      }
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
