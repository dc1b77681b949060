// Build and CPU-feature facts reported by `lmtrain info`.
#include "lmt/lmt.h"

extern "C" const char* lmt_version(void) { return "0.1.0"; }

extern "C" const char* lmt_cpu_features(void) {
#if defined(__x86_64__)
  static const char* features = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "x86-64 avx512f avx2 fma";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "x86-64 avx2 fma";
    return "x86-64 sse2";
  }();
  return features;
#elif defined(__aarch64__)
  return "aarch64 neon";
#else
  return "portable";
#endif
}
