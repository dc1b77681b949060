// Embedding lookup and axis gather, with their scatter-add adjoints.
//
// Ids are validated by a small kernel before anything is written: it raises the device error
// flag, the call waits for it (lmt::cuda::take_error_flag) and returns LMT_ERR_INDEX with the
// outputs untouched, as the CPU kernel does. Only on that error path are the ids copied to
// the host, to name the first bad position and value exactly as the CPU message does. The
// copy kernels still skip (write 0 for) an id out of range, so no id is ever read through.
// Backward kernels clear their output, then atomicAdd: the summation order of repeated ids is
// not fixed (results agree with the CPU to rounding, not bitwise). Kernels are flat
// grid-stride loops over output elements (int64), coalesced along the last axis.
#include <cstdio>
#include <vector>

#include "common.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void check_ids_kernel(const int32_t* __restrict__ ids, int64_t n, int64_t limit,
                                 int* flag) {
  int bad = 0;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int32_t t = ids[i];
    bad |= (t < 0 || (int64_t)t >= limit);
  }
  if (bad) atomicOr(flag, 1);
}

// Checks ids (n) against [0, limit) on the device; waits for the answer.
lmt_status check_ids(const char* fn, const char* what, const int32_t* ids, int64_t n,
                     int64_t limit) {
  int* flag = lmt::cuda::error_flag();
  if (!flag) return lmt_fail(LMT_ERR_DEVICE, "%s: the device error flag could not be allocated", fn);
  check_ids_kernel<<<lmt::cuda::blocks_for(n, kThreads), kThreads, 0, lmt::cuda::stream()>>>(
      ids, n, limit, flag);
  if (lmt_status s = lmt::cuda::launched(fn)) return s;
  char msg[160];
  std::snprintf(msg, sizeof msg, "an element of '%s' is outside [0, %lld)", what, (long long)limit);
  lmt_status s = lmt::cuda::take_error_flag(fn, msg);
  if (s != LMT_ERR_INDEX) return s;
  // Error path only: find the first bad id on the host for the CPU kernel's exact message.
  std::vector<int32_t> h((size_t)n);
  if (lmt_cuda_memcpy_d2h(h.data(), ids, (size_t)n * sizeof(int32_t)) != LMT_OK)
    return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, msg);
  for (int64_t i = 0; i < n; ++i)
    if (h[i] < 0 || h[i] >= limit)
      return lmt_fail(LMT_ERR_INDEX, "%s: %s[%lld] = %d is outside [0, %lld)", fn, what,
                      (long long)i, (int)h[i], (long long)limit);
  return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, msg);
}

lmt_status zero(const char* fn, float* p, int64_t n) {
  return lmt::cuda::check(cudaMemsetAsync(p, 0, (size_t)n * sizeof(float), lmt::cuda::stream()), fn,
                          "cudaMemsetAsync");
}

// out (N,C) = weight[ids] (V,C).
__global__ void embedding_fwd_kernel(float* __restrict__ out, const int32_t* __restrict__ ids,
                                     const float* __restrict__ weight, int64_t N, int64_t V,
                                     int64_t C) {
  const int64_t n = N * C;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = e / C, j = e - i * C;
    const int64_t id = ids[i];
    out[e] = (id >= 0 && id < V) ? weight[id * C + j] : 0.0f;
  }
}

// dweight (V,C) += dout (N,C) rows at ids; dweight cleared beforehand.
__global__ void embedding_bwd_kernel(float* __restrict__ dweight, const float* __restrict__ dout,
                                     const int32_t* __restrict__ ids, int64_t N, int64_t V,
                                     int64_t C) {
  const int64_t n = N * C;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = e / C, j = e - i * C;
    const int64_t id = ids[i];
    if (id >= 0 && id < V) atomicAdd(dweight + id * C + j, dout[e]);
  }
}

// out (outer, n_idx, inner) = x (outer, dim, inner) at idx along the middle axis.
__global__ void gather_kernel(float* __restrict__ out, const float* __restrict__ x,
                              const int32_t* __restrict__ idx, int64_t outer, int64_t dim,
                              int64_t inner, int64_t n_idx) {
  const int64_t n = outer * n_idx * inner;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / inner, j = e - r * inner;
    const int64_t o = r / n_idx, k = r - o * n_idx;
    const int64_t id = idx[k];
    out[e] = (id >= 0 && id < dim) ? x[(o * dim + id) * inner + j] : 0.0f;
  }
}

// dx (outer, dim, inner) += dout (outer, n_idx, inner) at idx; dx cleared beforehand.
__global__ void gather_bwd_kernel(float* __restrict__ dx, const float* __restrict__ dout,
                                  const int32_t* __restrict__ idx, int64_t outer, int64_t dim,
                                  int64_t inner, int64_t n_idx) {
  const int64_t n = outer * n_idx * inner;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / inner, j = e - r * inner;
    const int64_t o = r / n_idx, k = r - o * n_idx;
    const int64_t id = idx[k];
    if (id >= 0 && id < dim) atomicAdd(dx + (o * dim + id) * inner + j, dout[e]);
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_embedding_forward(float* out, const int32_t* ids,
                                                 const float* weight, int64_t N, int64_t V,
                                                 int64_t C) {
  LMT_NONNEG(N);
  LMT_NONNEG(V);
  LMT_NONNEG(C);
  if (N == 0) return LMT_OK;
  LMT_NOT_NULL(ids);
  LMT_GUARD_BEGIN
  if (lmt_status s = check_ids(__func__, "ids", ids, N, V)) return s;
  if (C == 0) return LMT_OK;
  LMT_NOT_NULL(out);
  LMT_NOT_NULL(weight);
  embedding_fwd_kernel<<<lmt::cuda::blocks_for(N * C, kThreads), kThreads, 0, lmt::cuda::stream()>>>(
      out, ids, weight, N, V, C);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_embedding_backward(float* dweight, const float* dout,
                                                  const int32_t* ids, int64_t N, int64_t V,
                                                  int64_t C) {
  LMT_NONNEG(N);
  LMT_NONNEG(V);
  LMT_NONNEG(C);
  LMT_GUARD_BEGIN
  if (N > 0) {
    LMT_NOT_NULL(ids);
    if (lmt_status s = check_ids(__func__, "ids", ids, N, V)) return s;
  }
  if (V == 0 || C == 0) return LMT_OK;
  LMT_NOT_NULL(dweight);
  if (N > 0) LMT_NOT_NULL(dout);
  if (lmt_status s = zero(__func__, dweight, V * C)) return s;
  if (N == 0) return LMT_OK;
  embedding_bwd_kernel<<<lmt::cuda::blocks_for(N * C, kThreads), kThreads, 0, lmt::cuda::stream()>>>(
      dweight, dout, ids, N, V, C);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_gather(float* out, const float* x, const int32_t* idx,
                                      int64_t outer, int64_t dim, int64_t inner, int64_t n_idx) {
  LMT_NONNEG(outer);
  LMT_NONNEG(dim);
  LMT_NONNEG(inner);
  LMT_NONNEG(n_idx);
  if (n_idx == 0) return LMT_OK;
  LMT_NOT_NULL(idx);
  LMT_GUARD_BEGIN
  if (lmt_status s = check_ids(__func__, "idx", idx, n_idx, dim)) return s;
  if (outer == 0 || inner == 0) return LMT_OK;
  LMT_NOT_NULL(out);
  LMT_NOT_NULL(x);
  gather_kernel<<<lmt::cuda::blocks_for(outer * n_idx * inner, kThreads), kThreads, 0,
                  lmt::cuda::stream()>>>(out, x, idx, outer, dim, inner, n_idx);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_gather_backward(float* dx, const float* dout, const int32_t* idx,
                                               int64_t outer, int64_t dim, int64_t inner,
                                               int64_t n_idx) {
  LMT_NONNEG(outer);
  LMT_NONNEG(dim);
  LMT_NONNEG(inner);
  LMT_NONNEG(n_idx);
  LMT_GUARD_BEGIN
  if (n_idx > 0) {
    LMT_NOT_NULL(idx);
    if (lmt_status s = check_ids(__func__, "idx", idx, n_idx, dim)) return s;
  }
  if (outer == 0 || dim == 0 || inner == 0) return LMT_OK;
  LMT_NOT_NULL(dx);
  if (n_idx > 0) LMT_NOT_NULL(dout);
  if (lmt_status s = zero(__func__, dx, outer * dim * inner)) return s;
  if (n_idx == 0) return LMT_OK;
  gather_bwd_kernel<<<lmt::cuda::blocks_for(outer * n_idx * inner, kThreads), kThreads, 0,
                      lmt::cuda::stream()>>>(dx, dout, idx, outer, dim, inner, n_idx);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}
