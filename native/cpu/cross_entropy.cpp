// Cross-entropy from logits (N, V), fused: the softmax is never stored.
//
//   lse_i  = log sum_v exp(x_iv)
//   loss_i = (1-eps) (lse_i - x_i,t) + eps (lse_i - mean_v x_iv)        (label smoothing eps)
//   dx_iv  = dloss_i (exp(x_iv - lse_i) - (1-eps) [v == t] - eps/V)
//
// Accumulation contract: losses, lse and dlogits are written with `=`; ignored rows get loss
// 0 and zero gradient (their lse is still computed). Targets are all validated before
// anything is written. Row sums accumulate in double: V may be 50k+.
#include <algorithm>
#include <cmath>

#include "checks.h"
#include "core.h"

namespace {

// Above this |lse| the float rounding of the saved lse (ulp/2 = 3.8e-6 at 64) would cost more
// than ~4e-6 relative error in the gradient, so backward recomputes the row's sum.
constexpr float LSE_EXACT_LIMIT = 64.0f;

}  // namespace

extern "C" lmt_status lmt_cross_entropy_forward(float* losses, float* lse, const float* logits,
                                                const int32_t* targets, int64_t N, int64_t V,
                                                int32_t ignore_index, float label_smoothing) {
  LMT_CHECK(lmt::check_cross_entropy_forward(__func__, lmt::check_targets, losses, lse, logits,
                                             targets, N, V, ignore_index, label_smoothing));
  if (N == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const double eps = label_smoothing;
  lmt::parallel_for(N, std::max<int64_t>(1, 16384 / V), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* x = logits + i * V;  // (V)
      const float m = lmt::max_value(x, V);
      const double z = lmt::exp_sum(nullptr, x, m, V);
      double sx = 0;  // only label smoothing needs the row sum: in float blocks, then double
      if (eps > 0) {
        for (int64_t b = 0; b < V; b += 256) {
          float s = 0;
          for (int64_t v = b; v < std::min(V, b + 256); ++v) s += x[v];
          sx += s;
        }
      }
      double l = (double)m + std::log(z);
      lse[i] = (float)l;
      int32_t t = targets[i];
      losses[i] = t == ignore_index
                      ? 0.0f
                      : (float)((1.0 - eps) * (l - x[t]) + eps * (l - sx / (double)V));
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cross_entropy_backward(float* dlogits, const float* dlosses,
                                                 const float* logits, const float* lse,
                                                 const int32_t* targets, int64_t N, int64_t V,
                                                 int32_t ignore_index, float label_smoothing) {
  LMT_CHECK(lmt::check_cross_entropy_backward(__func__, lmt::check_targets, dlogits, dlosses,
                                              logits, lse, targets, N, V, ignore_index,
                                              label_smoothing));
  if (N == 0 || V == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const float eps = label_smoothing;
  const float smooth = eps / (float)V;
  lmt::parallel_for(N, std::max<int64_t>(1, 16384 / V), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      float* dx = dlogits + i * V;  // (V)
      int32_t t = targets[i];
      if (t == ignore_index) {
        std::fill(dx, dx + V, 0.0f);
        continue;
      }
      const float* x = logits + i * V;
      float g = dlosses[i], l = lse[i];
      if (std::fabs(l) <= LSE_EXACT_LIMIT) {
        lmt::exp_sum(dx, x, l, V);
        for (int64_t v = 0; v < V; ++v) dx[v] = g * (dx[v] - smooth);
      } else {
        // The saved float lse is off by up to half an ulp (5e-4 at 1e4), and exp(x - lse)
        // inherits that as a relative error: recompute the row relative to its max instead.
        const float m = lmt::max_value(x, V);
        const double z = lmt::exp_sum(dx, x, m, V);
        const float inv = (float)(1.0 / z);
        for (int64_t v = 0; v < V; ++v) dx[v] = g * (dx[v] * inv - smooth);
      }
      dx[t] -= g * (1.0f - eps);
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
