// GELU, tanh approximation (as GPT-2):
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu'(x) = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
// evaluated through the identity 0.5 (1 + tanh(u)) = s = 1 / (1 + exp(-2u)), so that
// 0.5 (1 - tanh(u)^2) = 2 s (1 - s) and 1 - s = exp(-2u) s. Same function, but for x < 0
// the tanh form cancels (1 + tanh(u) -> 0 loses every digit by x ~ -5 in fp32) while this
// one keeps full relative precision, and one expf is cheaper than tanhf.
//
// Contract: outputs are written with `=` (dx too); purely elementwise in fp32, so results
// are bitwise independent of the thread count.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "checks.h"
#include "core.h"

namespace {
const int64_t kGrain = 16384;
const int64_t kBlock = 256;
const float kK = 0.7978845608028654f;  // sqrt(2/pi)
const float kC = 0.044715f;

// The block loops, compiled for the baseline ISA, AVX2+FMA and AVX-512 (picked once at run
// time): with the exp vectorised, the polynomial and the divide in baseline SSE were the
// bottleneck.
#define LMT_GELU_FWD_BODY                                                              \
  for (int64_t c = b; c < e; c += kBlock) {                                            \
    const int64_t ce = std::min(e, c + kBlock);                                        \
    for (int64_t i = c; i < ce; ++i) {                                                 \
      const float v = x[i];                                                            \
      out[i] = -2.0f * kK * (v + kC * v * v * v);                                      \
    }                                                                                  \
    lmt::exp_sum(out + c, out + c, 0.0f, ce - c); /* exp(-2u), staged in out */        \
    for (int64_t i = c; i < ce; ++i) out[i] = x[i] / (1.0f + out[i]); /* inf -> -0 */  \
  }
#define LMT_GELU_BWD_BODY                                                              \
  float ebuf[kBlock];                                                                  \
  for (int64_t c = b; c < e; c += kBlock) {                                            \
    const int64_t ce = std::min(e, c + kBlock);                                        \
    for (int64_t i = c; i < ce; ++i) {                                                 \
      const float v = x[i];                                                            \
      ebuf[i - c] = -2.0f * kK * (v + kC * v * v * v);                                 \
    }                                                                                  \
    lmt::exp_sum(ebuf, ebuf, 0.0f, ce - c);                                            \
    for (int64_t i = c; i < ce; ++i) {                                                 \
      const float v = x[i];                                                            \
      const float ex = ebuf[i - c];                                                    \
      const float s = 1.0f / (1.0f + ex);                                              \
      const float oms = ex < INFINITY ? ex * s : 1.0f; /* 1 - s; inf * 0 is NaN */     \
      const float du = kK * (1.0f + 3.0f * kC * v * v);                                \
      dx[i] = dout[i] * (s + 2.0f * v * s * oms * du);                                 \
    }                                                                                  \
  }

using FwdFn = void (*)(float*, const float*, int64_t, int64_t);
using BwdFn = void (*)(float*, const float*, const float*, int64_t, int64_t);
void fwd_generic(float* __restrict out, const float* __restrict x, int64_t b, int64_t e) { LMT_GELU_FWD_BODY }
void bwd_generic(float* __restrict dx, const float* __restrict dout, const float* __restrict x, int64_t b, int64_t e) { LMT_GELU_BWD_BODY }
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void fwd_avx2(float* __restrict out, const float* __restrict x, int64_t b, int64_t e) { LMT_GELU_FWD_BODY }
__attribute__((target("avx2,fma"))) void bwd_avx2(float* __restrict dx, const float* __restrict dout, const float* __restrict x, int64_t b, int64_t e) { LMT_GELU_BWD_BODY }
__attribute__((target("avx512f,prefer-vector-width=512"))) void fwd_avx512(float* __restrict out, const float* __restrict x, int64_t b, int64_t e) { LMT_GELU_FWD_BODY }
__attribute__((target("avx512f,prefer-vector-width=512"))) void bwd_avx512(float* __restrict dx, const float* __restrict dout, const float* __restrict x, int64_t b, int64_t e) { LMT_GELU_BWD_BODY }
#endif

struct Impl { FwdFn fwd; BwdFn bwd; };
Impl pick() {
#if defined(__x86_64__)
  if (!std::getenv("LMT_NO_AVX512") && __builtin_cpu_supports("avx512f")) return {fwd_avx512, bwd_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {fwd_avx2, bwd_avx2};
#endif
  return {fwd_generic, bwd_generic};
}
const Impl g_impl = pick();
}  // namespace

extern "C" lmt_status lmt_gelu_forward(float* out, const float* x, int64_t n) {
  LMT_CHECK(lmt::check_map(__func__, out, x, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) { g_impl.fwd(out, x, b, e); });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_gelu_backward(float* dx, const float* dout, const float* x, int64_t n) {
  LMT_CHECK(lmt::check_gelu_backward(__func__, dx, dout, x, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) { g_impl.bwd(dx, dout, x, b, e); });
  return LMT_OK;
  LMT_GUARD_END
}
