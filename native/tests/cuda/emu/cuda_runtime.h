// CPU emulation of the parts of CUDA the lmtrain kernels use, for checking their logic where
// no GPU exists (native/tests/cuda/emu/run.mjs). Every CUDA thread of a block is a thread of
// its own (a std::thread under the sanitizers, a user-level fiber in the addon: run_threads
// below); blocks run one after another; __syncthreads is a block barrier; warp operations (shuffles,
// ldmatrix, mma.sync in mma.cuh) exchange values through a per-block buffer between barriers,
// so they assume (as the kernels do) that every thread of the block reaches them together.
// It checks indexing, fragment layouts, masking and synchronisation, not speed or the
// memory model of a real GPU.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#define __CUDA_ARCH__ 900
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
typedef struct CUstream_st* cudaStream_t;
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr {
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
};
inline const char* cudaGetErrorString(cudaError_t) { return "emulated CUDA error"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t = nullptr) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t = nullptr) { std::memmove(d, s, n); return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrComputeCapabilityMajor ? 9 : a == cudaDevAttrMaxSharedMemoryPerBlockOptin ? 227 * 1024 : 4;
  return cudaSuccess;
}
template <class F>
inline cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) { return cudaSuccess; }

namespace emu {
extern thread_local dim3 threadIdx_, blockIdx_;
extern dim3 blockDim_, gridDim_;
struct Block {
  std::barrier<>* bar;
  // Exchange space for warp operations: up to 1024 threads x 8 words, two halves used in
  // turn so that one barrier per operation suffices.
  alignas(16) uint64_t xbuf[2][1024 * 8];
  std::atomic<int> orv;
  std::vector<unsigned char> dyn;  // dynamic shared memory
};
extern Block* g_block;
extern thread_local unsigned x_parity;
struct Cfg {
  dim3 g, b;
  size_t smem;
};
inline Cfg cfg(dim3 g, dim3 b, size_t smem = 0, cudaStream_t = nullptr) { return Cfg{g, b, smem}; }
extern std::atomic<long> g_launches;
// Runs f(0..nt-1), one CUDA thread each, and returns when all have finished; sync() is the
// block barrier they share (emu.cpp). Two implementations:
// - with AddressSanitizer (the kernel tests): real threads, kept between launches, and a
//   std::barrier, so the sanitizers see ordinary threads;
// - without (the addon the TS tests load): user-level fibers on the calling thread, switched
//   at each barrier in thread order. A barrier is then a context switch in user space instead
//   of waking every thread of the block on two cores, which made the addon several times
//   faster on small kernels; the results are the same (each thread still sees every other
//   thread's writes from before the barrier, and none from after it).
void run_threads(unsigned nt, const std::function<void(unsigned)>& f);
void sync();

// Work a thread has issued asynchronously (cp.async copies and wgmma products, emu/mma.cuh):
// queued at the call, grouped at each commit and carried out at the wait that covers the
// group, as late as the PTX ISA allows. So shared memory read before its copy was waited for
// holds the previous data, and a stage overwritten while a product still reads it gives
// wrong numbers, as either could on a GPU.
struct AsyncCopy {
  void* dst;
  const void* src;
  bool valid;
};
struct AsyncMma {
  float* d;
  const void* a;
  const void* b;
  int kstep;
};
struct Async {
  std::vector<AsyncCopy> copies;
  std::deque<std::vector<AsyncCopy>> copy_groups;
  std::vector<AsyncMma> mmas;
  std::deque<std::vector<AsyncMma>> mma_groups;
};
inline Async g_async[1024];  // per CUDA thread of the running block
inline void do_copy(const AsyncCopy& c) {
  if (c.valid) std::memcpy(c.dst, c.src, 16);
  else std::memset(c.dst, 0, 16);
}
// commit: the operations issued since the last commit become the newest group.
template <class T>
inline void commit(std::vector<T>& open, std::deque<std::vector<T>>& groups) {
  groups.push_back(std::move(open));
  open.clear();
}
// wait_group n: carries out the oldest groups until at most n remain.
template <class T, class F>
inline void drain(std::deque<std::vector<T>>& groups, size_t n, F&& run) {
  while (groups.size() > n) {
    for (const T& x : groups.front()) run(x);
    groups.pop_front();
  }
}
// At the end of a block: copies still in flight land (the block's shared memory outlives
// them on a GPU too); a wgmma product never waited for is a kernel error (its accumulators
// would be read, or lost, unfinished).
inline void end_block(unsigned t) {
  Async& a = g_async[t];
  if (!a.mmas.empty() || !a.mma_groups.empty()) {
    std::fprintf(stderr, "EMU: a block ended with wgmma operations not waited for\n");
    std::abort();
  }
  commit(a.copies, a.copy_groups);
  drain(a.copy_groups, 0, do_copy);
}
inline unsigned char* dyn_smem() { return g_block->dyn.data(); }

template <class K, class... A>
void launch(K kernel, Cfg c, A... args) {
  g_launches++;
  const unsigned nt = c.b.x * c.b.y * c.b.z;
  if (nt == 0 || nt > 1024 || c.b.y != 1 || c.b.z != 1 || c.g.x == 0 || c.g.y == 0 || c.g.z == 0 || c.g.y > 65535 ||
      c.g.z > 65535) {
    std::fprintf(stderr, "EMU: bad launch config grid(%u,%u,%u) block(%u,%u,%u)\n", c.g.x, c.g.y, c.g.z, c.b.x, c.b.y, c.b.z);
    std::abort();
  }
  if (c.smem > 227 * 1024) {
    std::fprintf(stderr, "EMU: %zu bytes of dynamic shared memory exceed the device's 227 KiB\n", c.smem);
    std::abort();
  }
  blockDim_ = c.b;
  gridDim_ = c.g;
  std::barrier<> bar(nt);
  auto* blk = new Block();
  blk->bar = &bar;  // the threaded implementation's barrier (unused by fibers)
  blk->dyn.assign(c.smem + 16, 0xCD);  // garbage, as on a GPU
  g_block = blk;
  run_threads(nt, [&](unsigned t) {
    threadIdx_ = dim3(t, 0, 0);
    x_parity = 0;
    for (unsigned bz = 0; bz < c.g.z; ++bz)
      for (unsigned by = 0; by < c.g.y; ++by)
        for (unsigned bx = 0; bx < c.g.x; ++bx) {
          blockIdx_ = dim3(bx, by, bz);
          kernel(args...);
          end_block(t);
          sync();
        }
  });
  delete blk;
}
}  // namespace emu
#define threadIdx emu::threadIdx_
#define blockIdx emu::blockIdx_
#define blockDim emu::blockDim_
#define gridDim emu::gridDim_

inline void __syncthreads() { emu::sync(); }
inline int __syncthreads_or(int v) {
  emu::sync();
  if (threadIdx.x == 0) emu::g_block->orv = 0;
  emu::sync();
  if (v) emu::g_block->orv = 1;
  emu::sync();
  int r = emu::g_block->orv;
  emu::sync();
  return r;
}
// Publishes this thread's words in the exchange buffer and waits for the block; returns the
// buffer half to read the other lanes from.
inline uint64_t* emu_exchange(const uint64_t* words, int n) {
  uint64_t* b = emu::g_block->xbuf[emu::x_parity];
  emu::x_parity ^= 1;
  for (int i = 0; i < n; ++i) b[threadIdx.x * 8 + i] = words[i];
  emu::sync();
  return b;
}
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int o) {
  static_assert(sizeof(T) <= 8, "shfl of a type wider than 8 bytes");
  uint64_t w = 0;
  std::memcpy(&w, &v, sizeof(T));
  uint64_t* b = emu_exchange(&w, 1);
  unsigned src = threadIdx.x ^ (unsigned)o;
  if ((src >> 5) != (threadIdx.x >> 5) || src >= blockDim.x) {
    std::fprintf(stderr, "EMU: shuffle outside the warp\n");
    std::abort();
  }
  T r;
  std::memcpy(&r, &b[src * 8], sizeof(T));
  return r;
}
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int atomicOr(int* p, int v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
template <class T>
inline T atomicAdd(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (!a.compare_exchange_weak(old, old + v)) {
  }
  return old;
}
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
// CUDA's device min/max overloads for integers and floats.
template <class T>
inline T min(T a, T b) { return a < b ? a : b; }
template <class T>
inline T max(T a, T b) { return a < b ? b : a; }
#include <math.h>
