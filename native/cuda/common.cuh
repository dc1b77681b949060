// Shared by every native/cuda kernel file: the backend's stream, launch/status helpers, the
// device error flag for id checks, and warp/block reductions.
//
// Conventions (see lmt/lmt_cuda.h): each lmt_cuda_<name> validates its scalar arguments with
// the same macros as the CPU kernel (core.h), launches on lmt::cuda::stream(), and returns
// lmt::cuda::launched(__func__) so that a launch error becomes LMT_ERR_DEVICE. Element
// indices are int64 wherever a tensor may pass 2^31 elements.
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>

#include <cstdint>

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

// Blocks for a grid-stride loop over n items (capped so that huge n still launches).
inline unsigned blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  int64_t cap = (int64_t)sm_count() * 32;
  if (b > cap) b = cap;
  return (unsigned)(b < 1 ? 1 : b);
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
