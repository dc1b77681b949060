// CUDA runtime probe, compiled when a CUDA compiler is found. The addon links cudart
// statically and never links libcuda, so it loads on hosts without a driver; this file
// says precisely why CUDA is unusable there (no driver, driver older than the toolkit, no
// device, no kernel image for the device's compute capability).
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "lmt/lmt.h"

namespace {
std::string g_why;

__global__ void probe_kernel(int* out) { *out = 42; }
}  // namespace

extern "C" int lmt_cuda_compiled(void) { return 1; }

extern "C" int lmt_cuda_device_count(const char** why) {
  // Ask the driver library directly first: cudart reports a missing driver as
  // "insufficient driver", which sends users looking for the wrong fix.
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) {
    g_why = "no NVIDIA driver: libcuda.so.1 could not be loaded";
    if (why) *why = g_why.c_str();
    return 0;
  }
  typedef int (*get_version_fn)(int*);
  auto get_version = (get_version_fn)dlsym(lib, "cuDriverGetVersion");
  int driver = 0;
  if (!get_version || get_version(&driver) != 0) {
    g_why = "the NVIDIA driver did not report its version (cuDriverGetVersion failed)";
    if (why) *why = g_why.c_str();
    return 0;
  }
  if (driver < CUDART_VERSION) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "the NVIDIA driver supports CUDA %d.%d but this binary was built with CUDA %d.%d; "
                  "update the driver",
                  driver / 1000, (driver % 1000) / 10, CUDART_VERSION / 1000, (CUDART_VERSION % 1000) / 10);
    g_why = buf;
    if (why) *why = g_why.c_str();
    return 0;
  }
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    g_why = e != cudaSuccess ? std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(e)
                             : "the driver is present but reports no CUDA device";
    if (why) *why = g_why.c_str();
    return 0;
  }
  // A device whose compute capability has no SASS or compatible PTX in this binary fails
  // its first launch: find out now.
  int* d = nullptr;
  if (cudaMalloc(&d, sizeof(int)) == cudaSuccess) {
    probe_kernel<<<1, 1>>>(d);
    cudaError_t le = cudaGetLastError();
    if (le == cudaSuccess) le = cudaDeviceSynchronize();
    cudaFree(d);
    if (le != cudaSuccess) {
      cudaDeviceProp p;
      cudaGetDeviceProperties(&p, 0);
      char buf[256];
      std::snprintf(buf, sizeof buf, "device 0 (%s, compute capability %d.%d) cannot run this binary's kernels: %s",
                    p.name, p.major, p.minor, cudaGetErrorString(le));
      g_why = buf;
      if (why) *why = g_why.c_str();
      return 0;
    }
  }
  g_why = "";
  if (why) *why = g_why.c_str();
  return n;
}

// The virtual architectures nvcc compiled the kernels for (__CUDA_ARCH_LIST__, CUDA >= 11.5,
// e.g. 800,860,890,900), as compute capabilities "80,86,89,90".
#define LMT_STR2(...) #__VA_ARGS__
#define LMT_STR(...) LMT_STR2(__VA_ARGS__)

extern "C" int lmt_cuda_runtime_version(const char** archs) {
  static const std::string list = [] {
    std::string out;
#ifdef __CUDA_ARCH_LIST__
    std::string raw = LMT_STR(__CUDA_ARCH_LIST__);
    std::string cur;
    for (char c : raw + ",") {
      if (c >= '0' && c <= '9') {
        cur += c;
      } else if (c == ',' && !cur.empty()) {
        if (!out.empty()) out += ",";
        out += std::to_string(std::stoi(cur) / 10);
        cur.clear();
      }
    }
#endif
    return out;
  }();
  if (archs) *archs = list.c_str();
  return CUDART_VERSION;
}

extern "C" lmt_status lmt_cuda_device_info(int device, lmt_cuda_device_facts* out) {
  if (!out) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_device_info: out is null");
  std::memset(out, 0, sizeof *out);
  cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, device);
  if (e != cudaSuccess)
    return lmt_fail(LMT_ERR_DEVICE, "cudaGetDeviceProperties(%d): %s", device, cudaGetErrorString(e));
  std::snprintf(out->name, sizeof out->name, "%s", p.name);
  out->major = p.major;
  out->minor = p.minor;
  out->multiprocessors = p.multiProcessorCount;
  out->total_bytes = p.totalGlobalMem;
  int prev = 0;
  size_t free_b = 0, total_b = 0;
  if (cudaGetDevice(&prev) == cudaSuccess && cudaSetDevice(device) == cudaSuccess) {
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) out->free_bytes = free_b;
    cudaSetDevice(prev);
  }
  return LMT_OK;
}

// ---- device memory, stream, copies ---------------------------------------------------------
// One stream per process (the backend is single-stream: ordering on it is what makes the
// cache below safe), a size-bucketed cache of device blocks (cudaMalloc/cudaFree synchronise
// the device and cost tens of microseconds; a training step allocates hundreds of
// activations), and a device flag that kernels raise for ids out of range.
#include <map>
#include <mutex>

#include "common.cuh"

namespace {
std::mutex g_dev_mu;
cudaStream_t g_stream = nullptr;
int g_device = 0;
int g_sm_count = 0;
int* g_flag = nullptr;
std::multimap<size_t, void*>* g_dcache = new std::multimap<size_t, void*>();  // never destroyed
size_t g_dcached = 0;
int g_precision = LMT_PREC_FP32;

size_t dround(size_t b) {
  // 512-byte granules below 1 MiB, 2 MiB above: few distinct sizes, little waste.
  if (b == 0) b = 1;
  size_t g = b < ((size_t)1 << 20) ? 512 : ((size_t)2 << 20);
  return (b + g - 1) / g * g;
}

void dflush_locked() {
  for (auto& kv : *g_dcache) cudaFree(kv.second);
  g_dcache->clear();
  g_dcached = 0;
}
}  // namespace

namespace lmt {
namespace cuda {

cudaStream_t stream() {
  if (g_stream) return g_stream;
  std::lock_guard<std::mutex> lk(g_dev_mu);
  if (!g_stream) {
    cudaSetDevice(g_device);
    cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking);
  }
  return g_stream;
}

int sm_count() {
  if (g_sm_count) return g_sm_count;
  int n = 0;
  if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, g_device) != cudaSuccess || n <= 0) n = 80;
  g_sm_count = n;
  return n;
}

lmt_status check(cudaError_t e, const char* fn, const char* what) {
  if (e == cudaSuccess) return LMT_OK;
  // A non-sticky error (out of memory, an invalid attribute or configuration) would otherwise
  // stay pending and be reported by the next, unrelated launch; sticky ones cannot be cleared.
  cudaGetLastError();
  if (e == cudaErrorMemoryAllocation) return lmt_fail(LMT_ERR_OOM, "%s: %s: out of device memory", fn, what);
  return lmt_fail(LMT_ERR_DEVICE, "%s: %s: %s", fn, what, cudaGetErrorString(e));
}

lmt_status launched(const char* fn) { return check(cudaGetLastError(), fn, "kernel launch"); }

int* error_flag() {
  if (g_flag) return g_flag;
  cudaStream_t s = stream();
  std::lock_guard<std::mutex> lk(g_dev_mu);
  if (!g_flag) {
    int* p = nullptr;
    if (cudaMalloc(&p, sizeof(int)) == cudaSuccess && cudaMemsetAsync(p, 0, sizeof(int), s) == cudaSuccess &&
        cudaStreamSynchronize(s) == cudaSuccess)
      g_flag = p;
  }
  return g_flag;
}

lmt_status take_error_flag(const char* fn, const char* what) {
  lmt_status s = launched(fn);
  if (s != LMT_OK) return s;
  int* f = error_flag();
  if (!f) return lmt_fail(LMT_ERR_DEVICE, "%s: the device error flag could not be allocated", fn);
  int h = 0;
  s = check(cudaMemcpyAsync(&h, f, sizeof(int), cudaMemcpyDeviceToHost, stream()), fn, "reading the error flag");
  if (s == LMT_OK) s = check(cudaStreamSynchronize(stream()), fn, "synchronize");
  if (s != LMT_OK) return s;
  if (h) {
    cudaMemsetAsync(f, 0, sizeof(int), stream());
    return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, what);
  }
  return LMT_OK;
}

}  // namespace cuda
}  // namespace lmt

extern "C" lmt_status lmt_cuda_set_device(int device) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || device < 0 || device >= n)
    return lmt_fail(LMT_ERR_DEVICE, "lmt_cuda_set_device: device %d does not exist (%d visible)", device, n);
  std::lock_guard<std::mutex> lk(g_dev_mu);
  if (g_stream && device != g_device)
    return lmt_fail(LMT_ERR_DEVICE, "lmt_cuda_set_device: device %d is already in use; choose the device before the first CUDA tensor", g_device);
  g_device = device;
  return lmt::cuda::check(cudaSetDevice(device), __func__, "cudaSetDevice");
}

extern "C" lmt_status lmt_cuda_malloc(void** out, size_t bytes) {
  if (!out) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_malloc: out is null");
  *out = nullptr;
  size_t sz = dround(bytes);
  if (sz < bytes) return lmt_fail(LMT_ERR_OOM, "lmt_cuda_malloc: %zu bytes overflows", bytes);
  lmt::cuda::stream();
  std::lock_guard<std::mutex> lk(g_dev_mu);
  auto it = g_dcache->find(sz);
  if (it != g_dcache->end()) {
    *out = it->second;
    g_dcache->erase(it);
    g_dcached -= sz;
    return LMT_OK;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, sz);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    // Blocks in the cache may still be read by queued kernels: wait before freeing them.
    cudaStreamSynchronize(g_stream);
    dflush_locked();
    e = cudaMalloc(&p, sz);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    return lmt_fail(e == cudaErrorMemoryAllocation ? LMT_ERR_OOM : LMT_ERR_DEVICE,
                    "lmt_cuda_malloc: %zu bytes: %s", bytes, cudaGetErrorString(e));
  }
  *out = p;
  return LMT_OK;
}

extern "C" void lmt_cuda_free(void* p, size_t bytes) {
  if (!p) return;
  std::lock_guard<std::mutex> lk(g_dev_mu);
  g_dcache->emplace(dround(bytes), p);
  g_dcached += dround(bytes);
}

extern "C" size_t lmt_cuda_cached_bytes(void) {
  std::lock_guard<std::mutex> lk(g_dev_mu);
  return g_dcached;
}

extern "C" void lmt_cuda_flush_cache(void) {
  std::lock_guard<std::mutex> lk(g_dev_mu);
  if (g_stream) cudaStreamSynchronize(g_stream);
  dflush_locked();
}

namespace {
lmt_status copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* fn) {
  if (bytes == 0) return LMT_OK;
  if (!dst || !src) return lmt_fail(LMT_ERR_INVALID_ARG, "%s: null pointer", fn);
  cudaStream_t s = lmt::cuda::stream();
  lmt_status st = lmt::cuda::check(cudaMemcpyAsync(dst, src, bytes, kind, s), fn, "cudaMemcpyAsync");
  // Host buffers are pageable: wait so the caller may reuse (h2d) or read (d2h) them.
  if (st == LMT_OK && kind != cudaMemcpyDeviceToDevice) st = lmt::cuda::check(cudaStreamSynchronize(s), fn, "synchronize");
  return st;
}
}  // namespace

extern "C" lmt_status lmt_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes) {
  return copy(dst, src, bytes, cudaMemcpyHostToDevice, __func__);
}
extern "C" lmt_status lmt_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes) {
  return copy(dst, src, bytes, cudaMemcpyDeviceToHost, __func__);
}
extern "C" lmt_status lmt_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes) {
  return copy(dst, src, bytes, cudaMemcpyDeviceToDevice, __func__);
}
extern "C" lmt_status lmt_cuda_synchronize(void) {
  return lmt::cuda::check(cudaStreamSynchronize(lmt::cuda::stream()), __func__, "cudaStreamSynchronize");
}

extern "C" lmt_status lmt_cuda_set_matmul_precision(int precision) {
  if (precision != LMT_PREC_FP32 && precision != LMT_PREC_BF16 && precision != LMT_PREC_TF32)
    return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_set_matmul_precision: precision must be 0 (fp32), 1 (bf16) or 2 (tf32), got %d", precision);
  g_precision = precision;
  return LMT_OK;
}
extern "C" int lmt_cuda_get_matmul_precision(void) { return g_precision; }
