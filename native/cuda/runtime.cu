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
