// CUDA reductions over the middle axis of x viewed as (outer, dim, inner): SUM, MEAN, MAX with
// first-index argmax, and their backward (native/cpu/reduce.cpp on the device).
//
// inner > 1: one thread per output walks d = 0..dim-1 in order (neighbouring threads read
// neighbouring columns, so loads coalesce); that is the CPU's order, so sums, means and maxima
// are bitwise the CPU's. inner == 1: one block per row; SUM/MEAN add in double in a different
// order than the CPU (equal after rounding to float except in rare last-bit cases), and MAX
// merges per-thread (value, index) pairs under an order that picks exactly the CPU's element:
// the first NaN if any, else the first index of the maximum.
#include <cstdio>

#include "common.cuh"

namespace {

const int kThreads = 256;

// True when v should replace the running maximum m (strictly greater, or the first NaN).
__device__ __forceinline__ bool beats(float v, float m) { return v > m || (v != v && m == m); }

// True when candidate (m2, i2) ranks above (m1, i1). i < 0 marks "no element yet". Among
// elements: any NaN ranks above any number; two NaNs or two equal numbers rank by the lower
// index; otherwise the larger number. This is a strict total order on distinct indices, so
// merging in any tree shape selects the same element as the CPU's left-to-right scan.
__device__ __forceinline__ bool ranks_above(float m2, int i2, float m1, int i1) {
  if (i2 < 0) return false;
  if (i1 < 0) return true;
  const bool n1 = m1 != m1, n2 = m2 != m2;
  if (n1 || n2) return n1 && n2 ? i2 < i1 : n2;
  if (m2 > m1) return true;
  if (m2 < m1) return false;
  return i2 < i1;
}

// Best (value, index) over the warp; every lane gets the result.
__device__ __forceinline__ void warp_argmax(float& m, int& idx) {
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o);
    const int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ranks_above(m2, i2, m, idx)) {
      m = m2;
      idx = i2;
    }
  }
}

// Best (value, index) over the block; every thread gets the result. blockDim.x is a multiple
// of 32; sm_m and sm_i hold 32 entries. Safe to call repeatedly.
__device__ __forceinline__ void block_argmax(float& m, int& idx, float* sm_m, int* sm_i) {
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  warp_argmax(m, idx);
  __syncthreads();  // earlier readers of sm_m/sm_i are done
  if (lane == 0) {
    sm_m[wid] = m;
    sm_i[wid] = idx;
  }
  __syncthreads();
  m = lane < nw ? sm_m[lane] : 0.0f;
  idx = lane < nw ? sm_i[lane] : -1;
  warp_argmax(m, idx);
}

// inner == 1: block-stride over rows; each block reduces whole rows of length dim.
template <int OP>
__global__ void reduce_rows_kernel(float* out, int32_t* argmax, const float* x, int64_t outer,
                                   int64_t dim) {
  __shared__ double sh_d[32];
  __shared__ float sh_m[32];
  __shared__ int sh_i[32];
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const float* row = x + o * dim;
    if constexpr (OP == LMT_RED_MAX) {
      float m = 0.0f;
      int best = -1;
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
        const float v = row[d];
        if (best < 0 || beats(v, m)) {
          m = v;
          best = (int)d;  // dim <= INT32_MAX for MAX (checked on the host)
        }
      }
      block_argmax(m, best, sh_m, sh_i);
      if (threadIdx.x == 0) {
        out[o] = m;
        if (argmax) argmax[o] = (int32_t)best;
      }
    } else {
      double s = 0.0;
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) s += (double)row[d];
      s = lmt::cuda::block_sum(s, sh_d);
      if (threadIdx.x == 0) out[o] = (float)(OP == LMT_RED_MEAN ? s / (double)dim : s);
    }
  }
}

// inner > 1: one thread per output (o, j), walking d in order as the CPU does.
template <int OP>
__global__ void reduce_cols_kernel(float* out, int32_t* argmax, const float* x, int64_t outer,
                                   int64_t dim, int64_t inner) {
  LMT_GRID_LOOP(t, outer * inner) {
    const int64_t o = t / inner, j = t - o * inner;
    const float* col = x + o * dim * inner + j;
    if constexpr (OP == LMT_RED_MAX) {
      float m = col[0];
      int64_t best = 0;
      for (int64_t d = 1; d < dim; ++d) {
        const float v = col[d * inner];
        if (beats(v, m)) {
          m = v;
          best = d;
        }
      }
      out[t] = m;
      if (argmax) argmax[t] = (int32_t)best;
    } else {
      double acc = 0.0;
      for (int64_t d = 0; d < dim; ++d) acc += (double)col[d * inner];
      out[t] = (float)(OP == LMT_RED_MEAN ? acc / (double)dim : acc);
    }
  }
}

template <int OP>
void launch_reduce(float* out, int32_t* argmax, const float* x, int64_t outer, int64_t dim,
                   int64_t inner) {
  cudaStream_t s = lmt::cuda::stream();
  if (inner == 1) {
    // Short rows get one warp; longer ones a full block.
    const int threads = dim >= kThreads ? kThreads : (int)((dim + 31) / 32 * 32);
    const unsigned blocks = lmt::cuda::blocks_for(outer, 1);
    reduce_rows_kernel<OP><<<blocks, threads, 0, s>>>(out, argmax, x, outer, dim);
  } else {
    reduce_cols_kernel<OP><<<lmt::cuda::blocks_for(outer * inner, kThreads), kThreads, 0, s>>>(
        out, argmax, x, outer, dim, inner);
  }
}

// Raises the device flag when an argmax entry is outside [0, dim).
__global__ void check_argmax_kernel(const int32_t* argmax, int64_t m, int64_t dim, int* flag) {
  LMT_GRID_LOOP(i, m) {
    const int32_t a = argmax[i];
    if (a < 0 || a >= dim) atomicOr(flag, 1);
  }
}

template <int OP>
__global__ void reduce_backward_kernel(float* dx, const float* dout, const int32_t* argmax,
                                       int64_t outer, int64_t dim, int64_t inner, float fdim) {
  LMT_GRID_LOOP(t, outer * dim * inner) {
    const int64_t r = t / inner, j = t - r * inner;  // r = o * dim + d
    const int64_t o = r / dim, d = r - o * dim;
    const float g = dout[o * inner + j];
    if constexpr (OP == LMT_RED_SUM)
      dx[t] = g;
    else if constexpr (OP == LMT_RED_MEAN)
      dx[t] = __fdiv_rn(g, fdim);
    else
      dx[t] = argmax[o * inner + j] == d ? g : 0.0f;
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_reduce(float* out, int32_t* argmax, const float* x, int64_t outer,
                                      int64_t dim, int64_t inner, int op) {
  LMT_CHECK(lmt::check_reduce(__func__, out, argmax, x, outer, dim, inner, op));
  if (outer == 0 || inner == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // argmax is optional even for MAX: only the backward pass needs it.
  switch (op) {
    case LMT_RED_SUM: launch_reduce<LMT_RED_SUM>(out, nullptr, x, outer, dim, inner); break;
    case LMT_RED_MEAN: launch_reduce<LMT_RED_MEAN>(out, nullptr, x, outer, dim, inner); break;
    case LMT_RED_MAX: launch_reduce<LMT_RED_MAX>(out, argmax, x, outer, dim, inner); break;
  }
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_reduce_backward(float* dx, const float* dout,
                                               const int32_t* argmax, int64_t outer,
                                               int64_t dim, int64_t inner, int op) {
  LMT_CHECK(lmt::check_reduce_backward(__func__, dx, dout, argmax, outer, dim, inner, op));
  if (outer == 0 || inner == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  cudaStream_t s = lmt::cuda::stream();
  if (op == LMT_RED_MAX) {
    // argmax lives on the device: check it there first and wait, so that a bad index leaves
    // dx untouched, as on the CPU.
    const int64_t m = outer * inner;
    char what[96];
    std::snprintf(what, sizeof what, "an argmax entry is outside [0, %lld)", (long long)dim);
    LMT_CHECK(lmt::cuda::check_on_device(__func__, what, [&](int* flag) {
      check_argmax_kernel<<<LMT_GRID(m, kThreads)>>>(argmax, m, dim, flag);
    }));
  }
  const int64_t n = outer * dim * inner;
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  const float fdim = (float)dim;
  switch (op) {
    case LMT_RED_SUM:
      reduce_backward_kernel<LMT_RED_SUM><<<blocks, kThreads, 0, s>>>(dx, dout, nullptr, outer,
                                                                      dim, inner, fdim);
      break;
    case LMT_RED_MEAN:
      reduce_backward_kernel<LMT_RED_MEAN><<<blocks, kThreads, 0, s>>>(dx, dout, nullptr, outer,
                                                                       dim, inner, fdim);
      break;
    case LMT_RED_MAX:
      reduce_backward_kernel<LMT_RED_MAX><<<blocks, kThreads, 0, s>>>(dx, dout, argmax, outer,
                                                                      dim, inner, fdim);
      break;
  }
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}
