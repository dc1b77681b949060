// AdamW (decoupled weight decay) over many tensors in one call, the global L2 norm of many
// tensors, and gradient clipping by that norm.
//
//   g = grad_scale * grad
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  mhat = m/(1-b1^step);  vhat = v/(1-b2^step)
//   p -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * decay[i] * p)
//
// Contract: params, m and v are updated in place (that is the op); tensors are split into
// fixed blocks, and each element's update is independent of the others. The norm sums
// squares in double, per fixed block of 64K elements and then over blocks in order, so it is
// bitwise independent of the thread count.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "checks.h"
#include "core.h"

namespace {

const int64_t kBlock = 1 << 16;

struct Span {
  int t;            // tensor index
  int64_t begin, end;
};

// Fixed partition of every tensor into blocks of at most kBlock elements.
std::vector<Span> blocks(const int64_t* sizes, int count) {
  std::vector<Span> out;
  for (int t = 0; t < count; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kBlock) out.push_back({t, b, std::min(sizes[t], b + kBlock)});
  return out;
}

double sum_squares(const float* x, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += (double)x[i] * x[i];
    s1 += (double)x[i + 1] * x[i + 1];
    s2 += (double)x[i + 2] * x[i + 2];
    s3 += (double)x[i + 3] * x[i + 3];
  }
  for (; i < n; ++i) s0 += (double)x[i] * x[i];
  return (s0 + s1) + (s2 + s3);
}

double global_norm(const float* const* tensors, const int64_t* sizes, int count) {
  std::vector<Span> bl = blocks(sizes, count);
  std::vector<double> partial(bl.size());
  lmt::parallel_for((int64_t)bl.size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k)
      partial[k] = sum_squares(tensors[bl[k].t] + bl[k].begin, bl[k].end - bl[k].begin);
  });
  double s = 0;
  for (double p : partial) s += p;
  return std::sqrt(s);
}


struct Coef { float grad_scale, beta1, beta2, a1, a2, inv_bc1, inv_bc2, lr, eps, wd; };

// The element update, compiled for the baseline ISA, AVX2+FMA and AVX-512 (a sqrt and a
// divide per element: with 4-wide SSE it was compute-bound at a third of memory bandwidth).
#define LMT_ADAMW_BODY                                                              \
  for (int64_t i = b; i < e; ++i) {                                                 \
    const float gi = c.grad_scale * g[i];                                           \
    const float mi = c.beta1 * m[i] + c.a1 * gi;                                    \
    const float vi = c.beta2 * v[i] + c.a2 * gi * gi;                               \
    m[i] = mi;                                                                      \
    v[i] = vi;                                                                      \
    const float mhat = mi * c.inv_bc1, vhat = vi * c.inv_bc2;                       \
    p[i] -= c.lr * (mhat / (std::sqrt(vhat) + c.eps) + c.wd * p[i]);                \
  }
using UpdateFn = void (*)(float* __restrict, float* __restrict, float* __restrict, const float* __restrict, int64_t, int64_t, const Coef&);
void update_generic(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t b, int64_t e, const Coef& c) { LMT_ADAMW_BODY }
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void update_avx2(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t b, int64_t e, const Coef& c) { LMT_ADAMW_BODY }
__attribute__((target("avx512f,prefer-vector-width=512"))) void update_avx512(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t b, int64_t e, const Coef& c) { LMT_ADAMW_BODY }
#endif
UpdateFn pick_update() {
#if defined(__x86_64__)
  if (!std::getenv("LMT_NO_AVX512") && __builtin_cpu_supports("avx512f")) return update_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return update_avx2;
#endif
  return update_generic;
}

}  // namespace

extern "C" lmt_status lmt_adamw_step(float* const* params, float* const* m, float* const* v,
                                     const float* const* grads, const int64_t* sizes,
                                     const uint8_t* decay, int count, float lr, float beta1,
                                     float beta2, float eps, float weight_decay, int64_t step,
                                     float grad_scale) {
  LMT_CHECK(lmt::check_adamw_step(__func__, params, m, v, grads, sizes, decay, count, lr, beta1,
                                  beta2, eps, weight_decay, step, grad_scale));
  if (count == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // Bias corrections in double: b2^step for b2 = 0.999 needs the precision at large steps.
  const float inv_bc1 = (float)(1.0 / (1.0 - std::pow((double)beta1, (double)step)));
  const float inv_bc2 = (float)(1.0 / (1.0 - std::pow((double)beta2, (double)step)));
  const float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
  std::vector<Span> bl = blocks(sizes, count);
  static const UpdateFn update = pick_update();
  lmt::parallel_for((int64_t)bl.size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int t = bl[k].t;
      const float wd = decay[t] ? weight_decay : 0.0f;
      float* __restrict p = params[t];
      float* __restrict mt = m[t];
      float* __restrict vt = v[t];
      const float* __restrict g = grads[t];
      update(p, mt, vt, g, bl[k].begin, bl[k].end, Coef{grad_scale, beta1, beta2, a1, a2, inv_bc1, inv_bc2, lr, eps, wd});
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_global_norm(double* norm, const float* const* tensors,
                                      const int64_t* sizes, int count) {
  LMT_CHECK(lmt::check_global_norm(__func__, norm, tensors, sizes, count));
  LMT_GUARD_BEGIN
  *norm = global_norm(tensors, sizes, count);
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_clip_grad_norm(double* norm, float* const* tensors, const int64_t* sizes,
                                         int count, float max_norm) {
  LMT_CHECK(lmt::check_clip_grad_norm(__func__, norm, tensors, sizes, count, max_norm));
  LMT_GUARD_BEGIN
  const double total = global_norm(tensors, sizes, count);
  *norm = total;
  // A NaN/Inf norm means an overflowed or poisoned step: scaling would spread the damage
  // to every element, so leave the tensors for the caller (e.g. to skip the step).
  if (!std::isfinite(total) || total <= (double)max_norm) return LMT_OK;
  const float scale = (float)((double)max_norm / (total + 1e-6));
  std::vector<Span> bl = blocks(sizes, count);
  lmt::parallel_for((int64_t)bl.size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      float* x = tensors[bl[k].t];
      for (int64_t i = bl[k].begin; i < bl[k].end; ++i) x[i] *= scale;
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
