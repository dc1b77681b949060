// Shared by every native/cuda kernel file: the backend's stream, launch/status helpers, the
// device error flag for id checks, grid-stride loops, and warp/block/row reductions.
//
// Conventions (see lmt/lmt_cuda.h): each lmt_cuda_<name> validates its arguments with the
// CPU kernel's own check (lmt::check_<name>, checks.h), launches on lmt::cuda::stream(), and
// returns lmt::cuda::launched(__func__) so that a launch error becomes LMT_ERR_DEVICE. Element
// indices are int64 wherever a tensor may pass 2^31 elements.
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "checks.h"
#include "core.h"
#include "lmt/lmt.h"
#include "lmt/lmt_cuda.h"

namespace lmt {
namespace cuda {

// The stream every kernel and copy runs on (created on first use, non-blocking).
cudaStream_t stream();
// LMT_ERR_DEVICE with `fn` and the CUDA error string when e != cudaSuccess.
lmt_status check(cudaError_t e, const char* fn, const char* what);
// After a launch: picks up a launch-configuration error (asynchronous faults surface at the
// next synchronising call).
lmt_status launched(const char* fn);
// A zeroed device int that kernels set (atomicOr) when they meet an id out of range.
int* error_flag();
// Waits for the stream and, if the flag was raised since the last check, clears it and
// returns LMT_ERR_INDEX with `what` in the message.
lmt_status take_error_flag(const char* fn, const char* what);
// Number of SMs of the current device (cached).
int sm_count();

// Whether the current device has the sm_80 tensor-core instructions (mma.sync bf16/tf32,
// ldmatrix, cp.async) that the tensor-core GEMM and attention kernels use; asked once.
inline bool tensor_cores() {
  static const int major = [] {
    int dev = 0, m = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&m, cudaDevAttrComputeCapabilityMajor, dev);
    return m;
  }();
  return major >= 8;
}

// Raises a kernel's dynamic shared-memory limit to `bytes` (needed above 48 KiB), once:
// `done` is the caller's flag for that kernel.
template <class K>
lmt_status allow_dynamic_smem(K kernel, size_t bytes, bool& done, const char* fn) {
  if (done) return LMT_OK;
  if (lmt_status s = check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes),
                           fn, "cudaFuncSetAttribute"))
    return s;
  done = true;
  return LMT_OK;
}

// Blocks for a grid-stride loop over n items (capped so that huge n still launches).
inline unsigned blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  int64_t cap = (int64_t)sm_count() * 32;
  if (b > cap) b = cap;
  return (unsigned)(b < 1 ? 1 : b);
}

// Row kernels (one block per row, block-stride over rows): threads for a row of `cols`, about
// 4 elements per thread, a multiple of 32 in [32, 1024]; and the grid for `rows` rows.
inline int row_threads(int64_t cols) {
  int64_t t = (cols + 3) / 4;
  t = (t + 31) / 32 * 32;
  return (int)std::min<int64_t>(1024, std::max<int64_t>(32, t));
}
inline unsigned row_grid(int64_t rows) {
  return (unsigned)std::min<int64_t>(rows, (int64_t)1 << 24);
}

// Clears n floats at p on the stream.
inline lmt_status zero(const char* fn, float* p, int64_t n) {
  return check(cudaMemsetAsync(p, 0, (size_t)n * sizeof(float), stream()), fn, "cudaMemsetAsync");
}

// A device check of index data: launch(flag) queues a kernel that raises the device error flag
// when it meets a bad id; the call waits for it and returns LMT_ERR_INDEX "fn: what" if the
// flag was raised.
template <class Launch>
lmt_status check_on_device(const char* fn, const char* what, Launch&& launch) {
  int* flag = error_flag();
  if (!flag)
    return lmt_fail(LMT_ERR_DEVICE, "%s: the device error flag could not be allocated", fn);
  launch(flag);
  return take_error_flag(fn, what);
}
// The same for ids (n), with the CPU's message: when the flag was raised, the ids are copied to
// the host and host_scan(fn, host_ids) (the CPU kernel's scan, checks.h) names the first bad
// one; "fn: what" if that copy fails.
template <class Launch, class Scan>
lmt_status check_ids_on_device(const char* fn, const char* what, const int32_t* ids, int64_t n,
                               Launch&& launch, Scan&& host_scan) {
  lmt_status s = check_on_device(fn, what, launch);
  if (s != LMT_ERR_INDEX) return s;
  // Error path only.
  std::vector<int32_t> h((size_t)n);
  if (lmt_cuda_memcpy_d2h(h.data(), ids, (size_t)n * sizeof(int32_t)) == LMT_OK)
    if ((s = host_scan(fn, h.data())) != LMT_OK) return s;
  return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, what);
}

// NaN-propagating max of two floats (the CPU's max_value semantics).
__device__ __forceinline__ float nan_max(float a, float b) {
  return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
// `sh` must hold 32 elements. Safe to call repeatedly (it syncs before reusing sh).
template <class T>
__device__ __forceinline__ T block_sum(T v, T* sh) {
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) sh[wid] = v;
  __syncthreads();
  T r = lane < nw ? sh[lane] : T(0);
  return warp_sum(r);
}
// Max over the block, NaN-propagating like the CPU's max_value.
__device__ __forceinline__ float block_max(float v, float* sh) {
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) {
    float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = (v != v || w != w) ? __int_as_float(0x7fc00000) : fmaxf(v, w);
  }
  __syncthreads();
  if (lane == 0) sh[wid] = v;
  __syncthreads();
  float r = lane < nw ? sh[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) {
    float w = __shfl_xor_sync(0xffffffffu, r, o);
    r = (r != r || w != w) ? __int_as_float(0x7fc00000) : fmaxf(r, w);
  }
  return r;
}

}  // namespace cuda
}  // namespace lmt

// Kernel-entry guard: no C++ exception crosses the C ABI (host code only throws bad_alloc).
#define LMT_CUDA_LAUNCHED() return lmt::cuda::launched(__func__)

// Grid-stride loop over [0, n) with int64 indices.
#define LMT_GRID_LOOP(i, n)                                                   \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

// Launch configuration of a grid-stride kernel over n items on the backend's stream:
// kernel<<<LMT_GRID(n, threads)>>>(...).
#define LMT_GRID(n, threads) \
  lmt::cuda::blocks_for((n), (threads)), (threads), 0, lmt::cuda::stream()
// Launch configuration of a row kernel (one block per row) over rows of `cols` elements:
// kernel<<<LMT_ROWS(rows, cols)>>>(...).
#define LMT_ROWS(rows, cols) \
  lmt::cuda::row_grid(rows), lmt::cuda::row_threads(cols), 0, lmt::cuda::stream()
