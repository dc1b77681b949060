// Minimal harness for the C++ kernel tests (no framework, no Node). Each test binary is one
// kernel family; it draws fresh random inputs each run (seed printed, LMT_TEST_SEED to
// replay), compares with native/cpu/reference in double precision and prints the maximum
// normalised error it saw per check:  max|got - ref| / max(max|ref|, 1e-30).
#pragma once
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "lmt/lmt.h"

namespace lt {

inline uint64_t seed() {
  static uint64_t s = [] {
    const char* env = std::getenv("LMT_TEST_SEED");
    uint64_t v = env ? std::strtoull(env, nullptr, 10)
                     : (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count();
    std::printf("seed %llu (set LMT_TEST_SEED to replay)\n", (unsigned long long)v);
    return v;
  }();
  return s;
}

inline std::mt19937_64& rng() {
  static std::mt19937_64 g(seed());
  return g;
}

inline std::vector<float> randn(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}
inline std::vector<float> uniform(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}
inline std::vector<int32_t> randint(size_t n, int32_t lo, int32_t hi_exclusive) {
  std::uniform_int_distribution<int32_t> d(lo, hi_exclusive - 1);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}
inline std::vector<double> to_double(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Normalised max error; NaN or Inf in `got` where ref is finite counts as infinite error.
template <class G, class R>
double max_err(const G& got, const R& ref) {
  if (got.size() != ref.size()) return INFINITY;
  double maxref = 0, maxdiff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double r = (double)ref[i], g = (double)got[i];
    if (std::isnan(g) && !std::isnan(r)) return INFINITY;
    if (std::isinf(r) || std::isinf(g)) {
      if (r != g) return INFINITY;
      continue;
    }
    maxref = std::fmax(maxref, std::fabs(r));
    maxdiff = std::fmax(maxdiff, std::fabs(g - r));
  }
  return maxdiff / std::fmax(maxref, 1e-30);
}

// max_i |got_i - ref_i| / scale_i, where scale_i bounds the magnitude of the terms summed into
// ref_i (for a dot product, sum |a_k b_k|). Float accumulation error is proportional to that
// scale, not to |ref_i|, so an output whose sum cancels to nearly zero cannot fail a correct kernel.
template <class G, class R, class S>
double max_scaled_err(const G& got, const R& ref, const S& scale) {
  if (got.size() != ref.size() || scale.size() != ref.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double r = (double)ref[i], g = (double)got[i];
    // NaN only where the reference has NaN (padding a kernel must not touch keeps its NaN).
    if (std::isnan(g) != std::isnan(r)) return INFINITY;
    if (std::isnan(r)) continue;
    if (std::isinf(r) || std::isinf(g)) {
      if (r != g) return INFINITY;
      continue;
    }
    worst = std::fmax(worst, std::fabs(g - r) / std::fmax((double)scale[i], 1e-30));
  }
  return worst;
}

struct Stats {
  int checks = 0, failures = 0;
};
inline Stats& stats() {
  static Stats s;
  return s;
}

// Records one comparison: name, error, tolerance.
inline void expect_close(const std::string& what, double err, double tol) {
  ++stats().checks;
  bool ok = err <= tol;  // NaN fails
  if (!ok) ++stats().failures;
  std::printf("%s %-60s max_rel_err %.3e (tol %.1e)\n", ok ? "ok  " : "FAIL", what.c_str(), err,
              tol);
}
inline void expect(const std::string& what, bool cond) {
  ++stats().checks;
  if (!cond) ++stats().failures;
  std::printf("%s %s\n", cond ? "ok  " : "FAIL", what.c_str());
}
inline void expect_status(const std::string& what, lmt_status got, lmt_status want) {
  bool ok = got == want;
  ++stats().checks;
  if (!ok) ++stats().failures;
  std::printf("%s %s -> %s (%s)\n", ok ? "ok  " : "FAIL", what.c_str(), lmt_status_name(got),
              got == LMT_OK ? "" : lmt_last_error());
}
inline int finish() {
  std::printf("%d checks, %d failed\n", stats().checks, stats().failures);
  return stats().failures == 0 ? 0 : 1;
}

}  // namespace lt
