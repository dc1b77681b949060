// Helpers for the CUDA kernel tests (native/tests/cuda, built with -DLMT_CUDA_TESTS=ON and run
// by scripts/gpu-check.sh on a machine with a GPU). Each test runs a CUDA kernel and the CPU
// kernel of the same name on the same fresh random inputs (the CPU kernels are themselves
// checked against native/cpu/reference by native/tests) and compares with lt::max_err.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "lmt/lmt.h"
#include "lmt/lmt_cuda.h"
#include "test_util.h"

namespace ct {

// Exits 77 (ctest's conventional "skipped") with the reason when no usable device exists;
// gpu-check.sh treats that as a failure, since it runs only where a GPU was lent.
inline void require_device() {
  const char* why = "";
  int n = lmt_cuda_device_count(&why);
  if (n <= 0) {
    std::printf("no usable CUDA device: %s\n", why);
    std::exit(77);
  }
  lmt_cuda_device_facts f;
  if (lmt_cuda_device_info(0, &f) == LMT_OK)
    std::printf("device 0: %s (cc %d.%d, %d SMs)\n", f.name, f.major, f.minor, f.multiprocessors);
}

// A device buffer holding a copy of a host vector; freed with the object.
template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  Dev() = default;
  explicit Dev(size_t count) : n(count) {
    if (lmt_cuda_malloc((void**)&p, (n ? n : 1) * sizeof(T)) != LMT_OK) {
      std::printf("FAIL lmt_cuda_malloc(%zu): %s\n", n * sizeof(T), lmt_last_error());
      std::exit(1);
    }
  }
  explicit Dev(const std::vector<T>& v) : Dev(v.size()) {
    if (n && lmt_cuda_memcpy_h2d(p, v.data(), n * sizeof(T)) != LMT_OK) {
      std::printf("FAIL h2d: %s\n", lmt_last_error());
      std::exit(1);
    }
  }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  ~Dev() { lmt_cuda_free(p, (n ? n : 1) * sizeof(T)); }
  std::vector<T> get() const {
    std::vector<T> v(n);
    if (n && lmt_cuda_memcpy_d2h(v.data(), p, n * sizeof(T)) != LMT_OK) {
      std::printf("FAIL d2h: %s\n", lmt_last_error());
      std::exit(1);
    }
    return v;
  }
};

// True under the CPU emulation of CUDA (native/tests/cuda/emu/run.mjs sets LMT_CUDA_EMU=1):
// there every block is a set of OS threads, so cases with very many blocks are left to the
// real GPU run (scripts/gpu-check.sh runs every case).
inline bool emulated() { return std::getenv("LMT_CUDA_EMU") != nullptr; }

// Fails the test when a call did not return LMT_OK (prints the backend's message).
inline bool ok(const char* what, lmt_status s) {
  if (s == LMT_OK) return true;
  lt::expect(std::string(what) + " returned " + lmt_status_name(s) + ": " + lmt_last_error(), false);
  return false;
}

// Bitwise-equal comparison (RNG, copies, exact ops).
template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i]) && !(a[i] != a[i] && b[i] != b[i])) return false;
  return true;
}

// bf16 bits of f, round to nearest even (as __float2bfloat16_rn), and back.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
inline float from_bf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Each value rounded to the nearest bf16 (what a bf16 kernel sees of an fp32 input).
inline std::vector<float> round_bf16(const std::vector<float>& v) {
  std::vector<float> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = from_bf16(to_bf16(v[i]));
  return o;
}

}  // namespace ct
