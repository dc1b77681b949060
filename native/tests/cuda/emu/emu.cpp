// The CUDA runtime side of the CPU emulation (replaces native/cuda/runtime.cu): host memory
// stands in for device memory, copies are memcpy, the stream is implicit, one "device".
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "common.cuh"

namespace emu {
thread_local dim3 threadIdx_, blockIdx_;
dim3 blockDim_, gridDim_;
Block* g_block;
thread_local unsigned x_parity = 0;
std::atomic<long> g_launches{0};
}  // namespace emu

namespace {
int g_flag = 0;
int g_precision = LMT_PREC_FP32;
}  // namespace

namespace lmt {
namespace cuda {
cudaStream_t stream() { return nullptr; }
lmt_status check(cudaError_t e, const char* fn, const char* what) {
  return e == cudaSuccess ? LMT_OK : lmt_fail(LMT_ERR_DEVICE, "%s: %s", fn, what);
}
lmt_status launched(const char*) { return LMT_OK; }
int* error_flag() { return &g_flag; }
lmt_status take_error_flag(const char* fn, const char* what) {
  if (g_flag) {
    g_flag = 0;
    return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, what);
  }
  return LMT_OK;
}
int sm_count() { return 4; }
}  // namespace cuda
}  // namespace lmt

extern "C" {
int lmt_cuda_compiled(void) { return 1; }
int lmt_cuda_device_count(const char** why) {
  if (why) *why = "";
  return 1;
}
int lmt_cuda_runtime_version(const char** archs) {
  if (archs) *archs = "emulated";
  return 0;
}
lmt_status lmt_cuda_device_info(int, lmt_cuda_device_facts* f) {
  std::memset(f, 0, sizeof *f);
  std::snprintf(f->name, sizeof f->name, "CPU emulation of CUDA (native/tests/cuda/emu)");
  f->major = 9;
  f->multiprocessors = 4;
  return LMT_OK;
}
lmt_status lmt_cuda_set_device(int d) { return d == 0 ? LMT_OK : lmt_fail(LMT_ERR_DEVICE, "emulation has one device"); }
lmt_status lmt_cuda_malloc(void** out, size_t bytes) {
  if (!out) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_malloc: out is null");
  // Garbage-filled like fresh device memory, so kernels that forget to write an output fail.
  *out = std::malloc(bytes ? bytes : 1);
  if (!*out) return lmt_fail(LMT_ERR_OOM, "lmt_cuda_malloc: out of memory");
  std::memset(*out, 0xA5, bytes);
  return LMT_OK;
}
void lmt_cuda_free(void* p, size_t) { std::free(p); }
size_t lmt_cuda_cached_bytes(void) { return 0; }
void lmt_cuda_flush_cache(void) {}
lmt_status lmt_cuda_memcpy_h2d(void* d, const void* s, size_t n) { if (n) std::memcpy(d, s, n); return LMT_OK; }
lmt_status lmt_cuda_memcpy_d2h(void* d, const void* s, size_t n) { if (n) std::memcpy(d, s, n); return LMT_OK; }
lmt_status lmt_cuda_memcpy_d2d(void* d, const void* s, size_t n) { if (n) std::memmove(d, s, n); return LMT_OK; }
lmt_status lmt_cuda_synchronize(void) { return LMT_OK; }
lmt_status lmt_cuda_set_matmul_precision(int p) {
  if (p != LMT_PREC_FP32 && p != LMT_PREC_BF16 && p != LMT_PREC_TF32)
    return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_set_matmul_precision: precision must be 0 (fp32), 1 (bf16) or 2 (tf32), got %d", p);
  g_precision = p;
  return LMT_OK;
}
int lmt_cuda_get_matmul_precision(void) { return g_precision; }
}
