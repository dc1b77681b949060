// Embedding lookup and axis gather, with their scatter-add adjoints.
//
// Arguments are validated by the CPU kernels' checks (checks.h), ids by a small kernel before
// anything is written: it raises the device error flag, the call waits for it
// (lmt::cuda::check_ids_on_device) and returns LMT_ERR_INDEX with the outputs untouched, as the
// CPU kernel does. Only on that error path are the ids copied to the host, where the CPU's scan
// names the first bad position and value. The copy kernels still skip (write 0 for) an id out
// of range, so no id is ever read through.
// Backward kernels clear their output, then atomicAdd: the summation order of repeated ids is
// not fixed (results agree with the CPU to rounding, not bitwise). Kernels are flat
// grid-stride loops over output elements (int64), coalesced along the last axis.
#include <cstdio>

#include "common.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void check_ids_kernel(const int32_t* __restrict__ ids, int64_t n, int64_t limit,
                                 int* flag) {
  int bad = 0;
  LMT_GRID_LOOP(i, n) {
    const int32_t t = ids[i];
    bad |= (t < 0 || (int64_t)t >= limit);
  }
  if (bad) atomicOr(flag, 1);
}

// lmt::check_ids on the device (the IdsCheck of the shared checks): same statuses and messages.
lmt_status device_check_ids(const char* fn, const char* what, const int32_t* ids, int64_t n,
                            int64_t limit) {
  char msg[160];
  std::snprintf(msg, sizeof msg, "an element of '%s' is outside [0, %lld)", what, (long long)limit);
  return lmt::cuda::check_ids_on_device(
      fn, msg, ids, n,
      [&](int* flag) { check_ids_kernel<<<LMT_GRID(n, kThreads)>>>(ids, n, limit, flag); },
      [&](const char* f, const int32_t* host_ids) {
        return lmt::check_ids(f, what, host_ids, n, limit);
      });
}

// Element e of out (N, C) = src[ids] with src (rows, C): true with *at = its offset in src, or
// false for an id outside [0, rows) (validated before launch: this only keeps an id from ever
// being read through).
__device__ __forceinline__ bool row_source(const int32_t* __restrict__ ids, int64_t e,
                                           int64_t rows, int64_t C, int64_t* at) {
  const int64_t i = e / C, j = e - i * C;
  const int64_t id = ids[i];
  *at = id * C + j;
  return id >= 0 && id < rows;
}
// The same for element e of out (outer, n_idx, inner) gathered from x (outer, dim, inner).
__device__ __forceinline__ bool gather_source(const int32_t* __restrict__ idx, int64_t e,
                                              int64_t dim, int64_t inner, int64_t n_idx,
                                              int64_t* at) {
  const int64_t r = e / inner, j = e - r * inner;
  const int64_t o = r / n_idx, k = r - o * n_idx;
  const int64_t id = idx[k];
  *at = (o * dim + id) * inner + j;
  return id >= 0 && id < dim;
}

// out (N,C) = weight[ids] (V,C).
__global__ void embedding_fwd_kernel(float* __restrict__ out, const int32_t* __restrict__ ids,
                                     const float* __restrict__ weight, int64_t N, int64_t V,
                                     int64_t C) {
  LMT_GRID_LOOP(e, N * C) {
    int64_t s;
    out[e] = row_source(ids, e, V, C, &s) ? weight[s] : 0.0f;
  }
}

// dweight (V,C) += dout (N,C) rows at ids; dweight cleared beforehand.
__global__ void embedding_bwd_kernel(float* __restrict__ dweight, const float* __restrict__ dout,
                                     const int32_t* __restrict__ ids, int64_t N, int64_t V,
                                     int64_t C) {
  LMT_GRID_LOOP(e, N * C) {
    int64_t s;
    if (row_source(ids, e, V, C, &s)) atomicAdd(dweight + s, dout[e]);
  }
}

// out (outer, n_idx, inner) = x (outer, dim, inner) at idx along the middle axis.
__global__ void gather_kernel(float* __restrict__ out, const float* __restrict__ x,
                              const int32_t* __restrict__ idx, int64_t outer, int64_t dim,
                              int64_t inner, int64_t n_idx) {
  LMT_GRID_LOOP(e, outer * n_idx * inner) {
    int64_t s;
    out[e] = gather_source(idx, e, dim, inner, n_idx, &s) ? x[s] : 0.0f;
  }
}

// dx (outer, dim, inner) += dout (outer, n_idx, inner) at idx; dx cleared beforehand.
__global__ void gather_bwd_kernel(float* __restrict__ dx, const float* __restrict__ dout,
                                  const int32_t* __restrict__ idx, int64_t outer, int64_t dim,
                                  int64_t inner, int64_t n_idx) {
  LMT_GRID_LOOP(e, outer * n_idx * inner) {
    int64_t s;
    if (gather_source(idx, e, dim, inner, n_idx, &s)) atomicAdd(dx + s, dout[e]);
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_embedding_forward(float* out, const int32_t* ids,
                                                 const float* weight, int64_t N, int64_t V,
                                                 int64_t C) {
  LMT_GUARD_BEGIN
  LMT_CHECK(lmt::check_embedding_forward(__func__, device_check_ids, out, ids, weight, N, V, C));
  if (N == 0 || C == 0) return LMT_OK;
  embedding_fwd_kernel<<<LMT_GRID(N * C, kThreads)>>>(out, ids, weight, N, V, C);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_embedding_backward(float* dweight, const float* dout,
                                                  const int32_t* ids, int64_t N, int64_t V,
                                                  int64_t C) {
  LMT_GUARD_BEGIN
  LMT_CHECK(
      lmt::check_embedding_backward(__func__, device_check_ids, dweight, dout, ids, N, V, C));
  if (V == 0 || C == 0) return LMT_OK;
  LMT_CHECK(lmt::cuda::zero(__func__, dweight, V * C));
  if (N == 0) return LMT_OK;
  embedding_bwd_kernel<<<LMT_GRID(N * C, kThreads)>>>(dweight, dout, ids, N, V, C);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_gather(float* out, const float* x, const int32_t* idx,
                                      int64_t outer, int64_t dim, int64_t inner, int64_t n_idx) {
  LMT_GUARD_BEGIN
  LMT_CHECK(
      lmt::check_gather(__func__, device_check_ids, out, x, idx, outer, dim, inner, n_idx));
  if (n_idx == 0 || outer == 0 || inner == 0) return LMT_OK;
  gather_kernel<<<LMT_GRID(outer * n_idx * inner, kThreads)>>>(out, x, idx, outer, dim, inner,
                                                               n_idx);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_gather_backward(float* dx, const float* dout, const int32_t* idx,
                                               int64_t outer, int64_t dim, int64_t inner,
                                               int64_t n_idx) {
  LMT_GUARD_BEGIN
  LMT_CHECK(lmt::check_gather_backward(__func__, device_check_ids, dx, dout, idx, outer, dim,
                                       inner, n_idx));
  if (outer == 0 || dim == 0 || inner == 0) return LMT_OK;
  LMT_CHECK(lmt::cuda::zero(__func__, dx, outer * dim * inner));
  if (n_idx == 0) return LMT_OK;
  gather_bwd_kernel<<<LMT_GRID(outer * n_idx * inner, kThreads)>>>(dx, dout, idx, outer, dim,
                                                                   inner, n_idx);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}
