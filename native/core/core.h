// Internal helpers shared by every native/cpu kernel: argument checks that turn into a
// status (never an abort), the thread pool, and the counter-based RNG.
#pragma once
#include <cstdint>
#include <exception>
#include <functional>
#include <new>

#include "lmt/lmt.h"

// Host-and-device functions (the RNG) compile for CUDA too, so both backends draw the same
// numbers for the same (seed, counter).
#ifdef __CUDACC__
#define LMT_HD __host__ __device__ __forceinline__
#else
#define LMT_HD inline
#endif

namespace lmt {

// Vectorised exp (vmath.cpp): out[i] = exp(x[i] - sub) for i < n (out may be x, or null to
// only sum); returns the sum of those values. exact 0 below -87.3, inf above 88.7, NaN kept.
double exp_sum(float* out, const float* x, float sub, int64_t n);
// The portable build of the same function and its scalar form (tests compare the paths).
double exp_sum_scalar(float* out, const float* x, float sub, int64_t n);
float exp1(float x);
// Reductions accumulated in double SIMD lanes (vmath.cpp): sum x, sum a*b, sum (x - m)^2;
// and the max of x (NaN if any element is NaN; -inf for n = 0).
double sum(const float* x, int64_t n);
double dot(const float* a, const float* b, int64_t n);
double sum_sq_dev(const float* x, double m, int64_t n);
float max_value(const float* x, int64_t n);

// Runs fn(begin, end) over [0, n) split into chunks of at least `grain` items on the pool.
// The calling thread takes part; nested calls (from inside fn) run serially.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
int num_threads();

// Philox4x32-10 (Salmon et al., SC'11). Pure function of (key, counter): the same element
// gets the same number whatever the threading.
struct Philox4 {
  uint32_t v[4];
};
LMT_HD Philox4 philox4x32(uint64_t key, uint64_t counter_lo, uint64_t counter_hi = 0) {
  uint32_t c0 = (uint32_t)counter_lo, c1 = (uint32_t)(counter_lo >> 32);
  uint32_t c2 = (uint32_t)counter_hi, c3 = (uint32_t)(counter_hi >> 32);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}
// Uniform in [0, 1) with 24 bits of mantissa.
LMT_HD float u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
LMT_HD float uniform_at(uint64_t seed, uint64_t index) {
  return u32_to_unit(philox4x32(seed, index).v[0]);
}

}  // namespace lmt

// Validation helpers: each returns from the enclosing kernel with a status and message.
#define LMT_REQUIRE(cond, status, ...)              \
  do {                                              \
    if (!(cond)) return lmt_fail((status), __VA_ARGS__); \
  } while (0)
#define LMT_ARG(cond, ...) LMT_REQUIRE(cond, LMT_ERR_INVALID_ARG, __VA_ARGS__)
// The _IN forms name the kernel `fn` (the shared checks of checks.cpp, passed the kernel's
// __func__); the plain forms name the enclosing function.
#define LMT_NOT_NULL_IN(fn, p) LMT_ARG((p) != nullptr, "%s: argument '%s' is null", (fn), #p)
#define LMT_NONNEG_IN(fn, x) \
  LMT_ARG((x) >= 0, "%s: '%s' must be >= 0, got %lld", (fn), #x, (long long)(x))
#define LMT_POSITIVE_IN(fn, x) \
  LMT_ARG((x) > 0, "%s: '%s' must be > 0, got %lld", (fn), #x, (long long)(x))
#define LMT_NOT_NULL(p) LMT_NOT_NULL_IN(__func__, p)
#define LMT_NONNEG(x) LMT_NONNEG_IN(__func__, x)
#define LMT_POSITIVE(x) LMT_POSITIVE_IN(__func__, x)

// Wraps a kernel body so that no C++ exception crosses the C ABI.
#define LMT_GUARD_BEGIN try {
#define LMT_GUARD_END                                                        \
  }                                                                          \
  catch (const std::bad_alloc&) {                                            \
    return lmt_fail(LMT_ERR_OOM, "%s: out of host memory", __func__);        \
  }                                                                          \
  catch (const std::exception& e) {                                          \
    return lmt_fail(LMT_ERR_INTERNAL, "%s: %s", __func__, e.what());         \
  }                                                                          \
  catch (...) {                                                              \
    return lmt_fail(LMT_ERR_INTERNAL, "%s: unknown exception", __func__);    \
  }
