// Vectorised exp for the bandwidth-bound kernels (softmax, cross-entropy, GELU, attention):
// the scalar std::exp made them compute-bound at about 1 GB/s. One polynomial, three
// builds (AVX-512, AVX2+FMA, portable) picked once at run time, like the GEMM micro-kernel.
//
// exp(x) = 2^n * p(r), n = round(x / ln 2), r = x - n ln 2 (Cody-Waite, two-part ln 2),
// p a degree-6 minimax polynomial on [-ln2/2, ln2/2] (Cephes expf): max relative error
// about 1.5 ulp over the range, checked against double exp in native/tests/test_vmath.cpp.
// x below -87.3 gives exactly 0 (masked scores), above 88.7 gives +inf, NaN stays NaN.
//
// Sums are accumulated per SIMD lane in float over blocks of 256 elements, then in double, so
// the rounding error of a row sum stays that of a 16-term float sum whatever the row length.
// The order of every operation depends only on n, so results are bitwise independent of the
// thread count (each row is one thread's).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LMT_X86 1
#endif

#include "core.h"

// GCC 12 reports the undefined upper lanes of _mm512_maskz_loadu_ps & co. as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace {

constexpr float kHi = 88.7228391f, kLo = -87.3365448f;
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
constexpr int64_t kBlock = 256;

// The same algorithm in scalar form (the portable path; plain multiply-adds, since a CPU
// without FMA would emulate std::fma in software).
inline float exp_scalar(float x) {
  if (x != x) return x;
  if (x < kLo) return 0.0f;
  if (x > kHi) return INFINITY;
  float n = std::nearbyint(x * kLog2e);
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = kP0;
  p = p * r + kP1;
  p = p * r + kP2;
  p = p * r + kP3;
  p = p * r + kP4;
  p = p * r + kP5;
  p = p * (r * r) + (r + 1.0f);
  return std::ldexp(p, (int)n);
}

double exp_sum_portable(float* out, const float* x, float sub, int64_t n) {
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float s = 0;
    for (int64_t i = b; i < e; ++i) {
      float v = exp_scalar(x[i] - sub);
      if (out) out[i] = v;
      s += v;
    }
    total += s;
  }
  return total;
}

#ifdef LMT_X86
__attribute__((target("avx512f"))) inline __m512 exp512(__m512 x) {
  const __m512 lo = _mm512_set1_ps(kLo);
  // min/max return their second operand when the first is NaN: NaN passes through.
  __m512 xc = _mm512_max_ps(lo, _mm512_min_ps(_mm512_set1_ps(kHi), x));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  __m512 y = _mm512_scalef_ps(p, n);
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(kHi), _CMP_GT_OQ), _mm512_set1_ps(INFINITY));
}

// Whole 16-lane groups, then one masked group for the tail: every element takes the same
// vector path.
__attribute__((target("avx512f"))) double exp_sum_avx512(float* out, const float* x, float sub, int64_t n) {
  double total = 0;
  const __m512 vs = _mm512_set1_ps(sub);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = b; i < e; i += 16) {
      const __mmask16 m = e - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (e - i)) - 1);
      __m512 v = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
      if (out) _mm512_mask_storeu_ps(out + i, m, v);
      acc = _mm512_mask_add_ps(acc, m, acc, v);
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, acc);
    float s = 0;
    for (float l : lanes) s += l;
    total += s;
  }
  return total;
}

__attribute__((target("avx2,fma"))) inline __m256 exp256(__m256 x) {
  const __m256 lo = _mm256_set1_ps(kLo), hi = _mm256_set1_ps(kHi);
  __m256 xc = _mm256_max_ps(lo, _mm256_min_ps(hi, x));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n in two halves (n in [-126, 128]): each factor stays a normal float.
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i h1 = _mm256_srai_epi32(ni, 1), h2 = _mm256_sub_epi32(ni, h1);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h1, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h2, _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
  // NaN in, NaN out (the clamp above replaced it).
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

__attribute__((target("avx2,fma"))) double exp_sum_avx2(float* out, const float* x, float sub, int64_t n) {
  double total = 0;
  const __m256 vs = _mm256_set1_ps(sub);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = b; i < e; i += 8) {
      const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)std::min<int64_t>(8, e - i)), lane);
      __m256 v = exp256(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vs));
      if (out) _mm256_maskstore_ps(out + i, m, v);
      acc = _mm256_add_ps(acc, _mm256_and_ps(v, _mm256_castsi256_ps(m)));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float s = 0;
    for (float l : lanes) s += l;
    total += s;
  }
  return total;
}
#endif


// ---- reductions: double accumulation in SIMD lanes (each float is exact in double, so the
// only rounding is that of the double adds), NaN-propagating max ---------------------------

struct Reductions {
  double (*sum)(const float*, int64_t);
  double (*dot)(const float*, const float*, int64_t);
  double (*sq_dev)(const float*, double, int64_t);
  float (*max)(const float*, int64_t);
};

double sum_portable(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}
double dot_portable(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += (double)a[i] * b[i];
  return s;
}
double sq_dev_portable(const float* x, double m, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += (x[i] - m) * (x[i] - m);
  return s;
}
float max_portable(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

#ifdef LMT_X86
__attribute__((target("avx512f"))) double hsum512d(__m512d a) {
  double t[8];
  _mm512_storeu_pd(t, a);
  return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}
__attribute__((target("avx512f"))) double sum_avx512(const float* x, int64_t n) {
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
    a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)));
  }
  return hsum512d(_mm512_add_pd(a0, a1)) + sum_portable(x + i, n - i);
}
__attribute__((target("avx512f"))) double dot_avx512(const float* a, const float* b, int64_t n) {
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i)), a0);
    a1 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 8)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 8)), a1);
  }
  return hsum512d(_mm512_add_pd(a0, a1)) + dot_portable(a + i, b + i, n - i);
}
__attribute__((target("avx512f"))) double sq_dev_avx512(const float* x, double m, int64_t n) {
  const __m512d vm = _mm512_set1_pd(m);
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), vm);
    __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)), vm);
    a0 = _mm512_fmadd_pd(d0, d0, a0);
    a1 = _mm512_fmadd_pd(d1, d1, a1);
  }
  return hsum512d(_mm512_add_pd(a0, a1)) + sq_dev_portable(x + i, m, n - i);
}
__attribute__((target("avx512f"))) float max_avx512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    m = _mm512_max_ps(m, v);
  }
  if (nan) return NAN;
  float t[16];
  _mm512_storeu_ps(t, m);
  float r = max_portable(x + i, n - i);
  if (r != r) return r;
  for (float v : t) r = v > r ? v : r;
  return r;
}

__attribute__((target("avx2,fma"))) double hsum256d(__m256d a) {
  double t[4];
  _mm256_storeu_pd(t, a);
  return (t[0] + t[1]) + (t[2] + t[3]);
}
__attribute__((target("avx2,fma"))) double sum_avx2(const float* x, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
  }
  return hsum256d(_mm256_add_pd(a0, a1)) + sum_portable(x + i, n - i);
}
__attribute__((target("avx2,fma"))) double dot_avx2(const float* a, const float* b, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), a0);
    a1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)), a1);
  }
  return hsum256d(_mm256_add_pd(a0, a1)) + dot_portable(a + i, b + i, n - i);
}
__attribute__((target("avx2,fma"))) double sq_dev_avx2(const float* x, double m, int64_t n) {
  const __m256d vm = _mm256_set1_pd(m);
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), vm);
    __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)), vm);
    a0 = _mm256_fmadd_pd(d0, d0, a0);
    a1 = _mm256_fmadd_pd(d1, d1, a1);
  }
  return hsum256d(_mm256_add_pd(a0, a1)) + sq_dev_portable(x + i, m, n - i);
}
__attribute__((target("avx2,fma"))) float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, v);
  }
  if (_mm256_movemask_ps(nan)) return NAN;
  float t[8];
  _mm256_storeu_ps(t, m);
  float r = max_portable(x + i, n - i);
  if (r != r) return r;
  for (float v : t) r = v > r ? v : r;
  return r;
}
#endif

Reductions pick_reductions() {
#ifdef LMT_X86
  if (!std::getenv("LMT_NO_AVX512") && __builtin_cpu_supports("avx512f")) return {sum_avx512, dot_avx512, sq_dev_avx512, max_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {sum_avx2, dot_avx2, sq_dev_avx2, max_avx2};
#endif
  return {sum_portable, dot_portable, sq_dev_portable, max_portable};
}

const Reductions g_red = pick_reductions();

using ExpSumFn = double (*)(float*, const float*, float, int64_t);

ExpSumFn pick() {
#ifdef LMT_X86
  if (!std::getenv("LMT_NO_AVX512") && __builtin_cpu_supports("avx512f")) return exp_sum_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return exp_sum_avx2;
#endif
  return exp_sum_portable;
}

const ExpSumFn g_exp_sum = pick();

}  // namespace

namespace lmt {

double exp_sum(float* out, const float* x, float sub, int64_t n) { return g_exp_sum(out, x, sub, n); }

double exp_sum_scalar(float* out, const float* x, float sub, int64_t n) { return exp_sum_portable(out, x, sub, n); }

float exp1(float x) { return exp_scalar(x); }

double sum(const float* x, int64_t n) { return g_red.sum(x, n); }
double dot(const float* a, const float* b, int64_t n) { return g_red.dot(a, b, n); }
double sum_sq_dev(const float* x, double m, int64_t n) { return g_red.sq_dev(x, m, n); }
float max_value(const float* x, int64_t n) { return g_red.max(x, n); }

}  // namespace lmt
