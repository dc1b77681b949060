// CUDA fill, casts (i32 -> f32, f32 <-> bf16), strided gather-copy and its scatter-add adjoint,
// and the Philox uniform/normal fills: the device side of native/cpu/fill.cpp.
//
// Bitwise parity with the CPU: copies, casts and fill_uniform must produce the CPU's exact bits
// (the tests compare them bitwise), so every product feeding a sum is spelled with __fmul_rn /
// __fadd_rn: nvcc would otherwise contract it into an FMA, which rounds once instead of twice
// and so differs from the CPU build (x86-64-v2, no FMA). Constants the CPU derives on the host
// (the interval width, nextafter(hi, lo)) are derived here on the host too and passed in.
#include <cmath>

#include "common.cuh"
#include "view.h"

namespace {

const int kThreads = 256;

// One strided operand (operand 0 of lmt::StridedView, collapsed as on the CPU), so that the
// per-element index arithmetic runs over as few dimensions as possible.
using View = lmt::StridedView;
inline View collapse(int ndim, const int64_t* shape, const int64_t* strides) {
  return lmt::collapse_view(ndim, shape, &strides, 1);
}

// The CPU's injective test: distinct indices map to distinct offsets, so plain stores are
// race-free and atomics are only needed when windows overlap.
bool injective(const View& v) {
  int64_t s[8], e[8];
  for (int d = 0; d < v.nd; ++d) {
    s[d] = v.st[0][d] < 0 ? -v.st[0][d] : v.st[0][d];
    e[d] = v.shape[d];
  }
  for (int a = 1; a < v.nd; ++a)
    for (int b = a; b > 0 && s[b] < s[b - 1]; --b) {
      int64_t t = s[b]; s[b] = s[b - 1]; s[b - 1] = t;
      t = e[b]; e[b] = e[b - 1]; e[b - 1] = t;
    }
  int64_t reach = 0;
  for (int d = 0; d < v.nd; ++d) {
    if (e[d] == 1) continue;
    if (s[d] <= reach) return false;
    reach += (e[d] - 1) * s[d];
  }
  return true;
}

// Strided offset of flat index i. I is the type of the div/mod chain: 32-bit when the element
// count fits (much cheaper than 64-bit division on the GPU); offsets are always int64.
template <class I>
__device__ __forceinline__ int64_t strided_offset(const View& v, I i) {
  int64_t off = 0;
  for (int d = v.nd - 1; d >= 0; --d) {
    const I sh = (I)v.shape[d];
    const I q = i / sh;
    off += (int64_t)(i - q * sh) * v.st[0][d];
    i = q;
  }
  return off;
}

template <class T>
__global__ void fill_kernel(T* out, T value, int64_t n) {
  LMT_GRID_LOOP(i, n) out[i] = value;
}

__global__ void cast_i32_f32_kernel(float* out, const int32_t* x, int64_t n) {
  LMT_GRID_LOOP(i, n) out[i] = (float)x[i];  // cvt.rn, as the CPU's cvtsi2ss
}

__global__ void cast_f32_bf16_kernel(uint16_t* out, const float* x, int64_t n) {
  LMT_GRID_LOOP(i, n) out[i] = __bfloat16_as_ushort(__float2bfloat16_rn(x[i]));
}

__global__ void cast_bf16_f32_kernel(float* out, const uint16_t* x, int64_t n) {
  LMT_GRID_LOOP(i, n) out[i] = __bfloat162float(__ushort_as_bfloat16(x[i]));
}

template <class I>
__global__ void copy_strided_kernel(float* out, const float* base,
                                    View v, int64_t n) {
  LMT_GRID_LOOP(i, n) out[i] = base[strided_offset<I>(v, (I)i)];
}

// ATOMIC: windows may overlap (broadcast or sliding strides), so adds go through atomics; the
// order of those adds, unlike the CPU's, is not fixed.
template <class I, bool ATOMIC>
__global__ void scatter_add_kernel(float* base, const float* x, View v, int64_t n) {
  LMT_GRID_LOOP(i, n) {
    float* dst = base + strided_offset<I>(v, (I)i);
    if (ATOMIC)
      atomicAdd(dst, x[i]);
    else
      *dst = __fadd_rn(*dst, x[i]);
  }
}

__global__ void fill_uniform_kernel(float* out, int64_t n, float lo, float hi, float width,
                                    float below_hi, uint64_t seed, uint64_t offset) {
  LMT_GRID_LOOP(i, n) {
    const float r = __fadd_rn(lo, __fmul_rn(width, lmt::uniform_at(seed, offset + (uint64_t)i)));
    out[i] = r < hi ? r : below_hi;
  }
}

__global__ void fill_normal_kernel(float* out, int64_t n, double mean, double std, uint64_t seed,
                                   uint64_t offset) {
  LMT_GRID_LOOP(i, n) {
    const lmt::Philox4 r = lmt::philox4x32(seed, offset + (uint64_t)i);
    const double u1 = __dmul_rn(__dadd_rn((double)r.v[0], 0.5), 1.0 / 4294967296.0);
    const double u2 = __dmul_rn((double)r.v[1], 1.0 / 4294967296.0);
    const double z = __dmul_rn(sqrt(__dmul_rn(-2.0, log(u1))),
                               cos(__dmul_rn(6.283185307179586477, u2)));
    out[i] = (float)__dadd_rn(mean, __dmul_rn(std, z));
  }
}

// True when the div/mod chain for n elements can run in 32 bits.
inline bool fits32(int64_t n) { return n <= (int64_t)UINT32_MAX; }

// The fill and cast entry points: the CPU kernel's check, then one grid-stride launch.
template <class T>
lmt_status launch_fill(const char* fn, T* out, T value, int64_t n) {
  LMT_CHECK(lmt::check_fill(fn, out, n));
  if (n == 0) return LMT_OK;
  fill_kernel<T><<<LMT_GRID(n, kThreads)>>>(out, value, n);
  return lmt::cuda::launched(fn);
}
template <class O, class I>
lmt_status launch_cast(const char* fn, void (*kernel)(O*, const I*, int64_t), O* out,
                       const I* x, int64_t n) {
  LMT_CHECK(lmt::check_map(fn, out, x, n));
  if (n == 0) return LMT_OK;
  kernel<<<LMT_GRID(n, kThreads)>>>(out, x, n);
  return lmt::cuda::launched(fn);
}

}  // namespace

extern "C" lmt_status lmt_cuda_fill(float* out, float value, int64_t n) {
  LMT_GUARD_BEGIN
  return launch_fill(__func__, out, value, n);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_fill_i32(int32_t* out, int32_t value, int64_t n) {
  LMT_GUARD_BEGIN
  return launch_fill(__func__, out, value, n);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_cast_i32_f32(float* out, const int32_t* x, int64_t n) {
  LMT_GUARD_BEGIN
  return launch_cast(__func__, cast_i32_f32_kernel, out, x, n);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_cast_f32_bf16(uint16_t* out, const float* x, int64_t n) {
  LMT_GUARD_BEGIN
  return launch_cast(__func__, cast_f32_bf16_kernel, out, x, n);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_cast_bf16_f32(float* out, const uint16_t* x, int64_t n) {
  LMT_GUARD_BEGIN
  return launch_cast(__func__, cast_bf16_f32_kernel, out, x, n);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_copy_strided(float* out, const float* x, int64_t x_numel,
                                            int ndim, const int64_t* shape,
                                            const int64_t* strides, int64_t offset) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_copy_strided(__func__, out, x, x_numel, ndim, shape, strides, offset, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const View v = collapse(ndim, shape, strides);
  const float* base = x + offset;
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  if (fits32(n))
    copy_strided_kernel<uint32_t><<<blocks, kThreads, 0, lmt::cuda::stream()>>>(out, base, v, n);
  else
    copy_strided_kernel<uint64_t><<<blocks, kThreads, 0, lmt::cuda::stream()>>>(out, base, v, n);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_scatter_add_strided(float* out, int64_t out_numel, const float* x,
                                                   int ndim, const int64_t* shape,
                                                   const int64_t* strides, int64_t offset) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_scatter_add_strided(__func__, out, out_numel, x, ndim, shape, strides,
                                           offset, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const View v = collapse(ndim, shape, strides);
  float* base = out + offset;
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  cudaStream_t s = lmt::cuda::stream();
  const bool inj = injective(v);
  if (fits32(n)) {
    if (inj)
      scatter_add_kernel<uint32_t, false><<<blocks, kThreads, 0, s>>>(base, x, v, n);
    else
      scatter_add_kernel<uint32_t, true><<<blocks, kThreads, 0, s>>>(base, x, v, n);
  } else {
    if (inj)
      scatter_add_kernel<uint64_t, false><<<blocks, kThreads, 0, s>>>(base, x, v, n);
    else
      scatter_add_kernel<uint64_t, true><<<blocks, kThreads, 0, s>>>(base, x, v, n);
  }
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_fill_uniform(float* out, int64_t n, float lo, float hi,
                                            uint64_t seed, uint64_t offset) {
  LMT_CHECK(lmt::check_fill_uniform(__func__, out, n, lo, hi));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const float width = hi - lo;
  // Rounding can carry lo + width*u up to hi itself; such draws become the float below hi.
  const float below_hi = std::nextafter(hi, lo);
  fill_uniform_kernel<<<LMT_GRID(n, kThreads)>>>(out, n, lo, hi, width, below_hi, seed, offset);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_fill_normal(float* out, int64_t n, float mean, float std,
                                           uint64_t seed, uint64_t offset) {
  LMT_CHECK(lmt::check_fill_normal(__func__, out, n, mean, std));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  fill_normal_kernel<<<LMT_GRID(n, kThreads)>>>(out, n, (double)mean, (double)std, seed, offset);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}
