// Cross-entropy from logits (N, V), fused: the softmax is never stored.
//
//   lse_i  = log sum_v exp(x_iv)
//   loss_i = (1-eps) (lse_i - x_i,t) + eps (lse_i - mean_v x_iv)        (label smoothing eps)
//   dx_iv  = dloss_i (exp(x_iv - lse_i) - (1-eps) [v == t] - eps/V)
//
// One block per row (rows are long: V ~ 50k), two passes (max, then the sum of exp and of x
// in double) re-reading the row from L2 rather than an online rescaled sum: simpler and
// obviously the CPU's arithmetic. Targets are validated by a small kernel first; the call
// waits for it and returns LMT_ERR_INDEX with nothing written, as on the CPU (the target is
// copied to the host only on that error path, to name it exactly). Backward recomputes the
// row's sum when |lse| > 64, for the same precision reason as the CPU kernel.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "common.cuh"

namespace {

constexpr float LSE_EXACT_LIMIT = 64.0f;
constexpr int kThreads = 256;

int row_threads(int64_t cols) {
  int64_t t = (cols + 3) / 4;
  t = (t + 31) / 32 * 32;
  return (int)std::min<int64_t>(1024, std::max<int64_t>(32, t));
}
unsigned row_grid(int64_t rows) { return (unsigned)std::min<int64_t>(rows, (int64_t)1 << 24); }

__device__ __forceinline__ float nan_max(float a, float b) {
  return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b);
}
__device__ __forceinline__ bool valid_target(int32_t t, int64_t V) { return t >= 0 && (int64_t)t < V; }

__global__ void check_targets_kernel(const int32_t* __restrict__ targets, int64_t N, int64_t V,
                                     int32_t ignore_index, int* flag) {
  int bad = 0;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < N;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int32_t t = targets[i];
    bad |= (t != ignore_index && !valid_target(t, V));
  }
  if (bad) atomicOr(flag, 1);
}

lmt_status check_targets(const char* fn, const int32_t* targets, int64_t N, int64_t V,
                         int32_t ignore_index) {
  int* flag = lmt::cuda::error_flag();
  if (!flag) return lmt_fail(LMT_ERR_DEVICE, "%s: the device error flag could not be allocated", fn);
  check_targets_kernel<<<lmt::cuda::blocks_for(N, kThreads), kThreads, 0, lmt::cuda::stream()>>>(
      targets, N, V, ignore_index, flag);
  if (lmt_status s = lmt::cuda::launched(fn)) return s;
  char msg[160];
  std::snprintf(msg, sizeof msg, "a target is outside [0, %lld) and is not ignore_index (%d)",
                (long long)V, (int)ignore_index);
  lmt_status s = lmt::cuda::take_error_flag(fn, msg);
  if (s != LMT_ERR_INDEX) return s;
  // Error path only: the CPU kernel's exact message.
  std::vector<int32_t> h((size_t)N);
  if (lmt_cuda_memcpy_d2h(h.data(), targets, (size_t)N * sizeof(int32_t)) != LMT_OK)
    return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, msg);
  for (int64_t i = 0; i < N; ++i) {
    const int32_t t = h[i];
    if (t != ignore_index && (t < 0 || t >= V))
      return lmt_fail(LMT_ERR_INDEX, "%s: targets[%lld] = %d is outside [0, %lld) and is not ignore_index (%d)",
                      fn, (long long)i, (int)t, (long long)V, (int)ignore_index);
  }
  return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, msg);
}

__global__ void __launch_bounds__(1024)
    ce_fwd_kernel(float* __restrict__ losses, float* __restrict__ lse,
                  const float* __restrict__ logits, const int32_t* __restrict__ targets, int64_t N,
                  int64_t V, int32_t ignore_index, float label_smoothing) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  const double eps = label_smoothing;
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const float* x = logits + i * V;
    float m = -INFINITY;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) m = nan_max(m, x[v]);
    m = lmt::cuda::block_max(m, shf);
    double z = 0.0, sx = 0.0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      const float xv = x[v];
      z += (double)expf(xv - m);
      sx += (double)xv;
    }
    z = lmt::cuda::block_sum(z, shd);
    if (eps > 0) sx = lmt::cuda::block_sum(sx, shd);  // uniform branch: only smoothing needs it
    if (threadIdx.x == 0) {
      const double l = (double)m + ::log(z);
      lse[i] = (float)l;
      const int32_t t = targets[i];
      float loss = 0.0f;
      if (t != ignore_index) {
        // validated before launch; the guard only keeps an id from ever being read through
        loss = valid_target(t, V)
                   ? (float)((1.0 - eps) * (l - (double)x[t]) + eps * (l - sx / (double)V))
                   : __int_as_float(0x7fc00000);
      }
      losses[i] = loss;
    }
  }
}

__global__ void __launch_bounds__(1024)
    ce_bwd_kernel(float* dlogits, const float* __restrict__ dlosses, const float* logits,
                  const float* __restrict__ lse, const int32_t* __restrict__ targets, int64_t N,
                  int64_t V, int32_t ignore_index, float label_smoothing) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  const float eps = label_smoothing;
  const float smooth = eps / (float)V;
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    float* dx = dlogits + i * V;
    const float* x = logits + i * V;
    const int32_t t = targets[i];
    // Every branch below depends on the row only: uniform across the block.
    if (t == ignore_index || !valid_target(t, V)) {
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) dx[v] = 0.0f;
      continue;
    }
    const float g = dlosses[i], l = lse[i];
    const float gt = g * (1.0f - eps);
    if (fabsf(l) <= LSE_EXACT_LIMIT) {
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
        float d = g * (expf(x[v] - l) - smooth);
        if (v == t) d -= gt;
        dx[v] = d;
      }
    } else {
      // The saved float lse is off by up to half an ulp (5e-4 at 1e4), and exp(x - lse)
      // inherits that as a relative error: recompute the row relative to its max instead.
      float m = -INFINITY;
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) m = nan_max(m, x[v]);
      m = lmt::cuda::block_max(m, shf);
      double z = 0.0;
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) z += (double)expf(x[v] - m);
      const float inv = (float)(1.0 / lmt::cuda::block_sum(z, shd));
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
        float d = g * (expf(x[v] - m) * inv - smooth);
        if (v == t) d -= gt;
        dx[v] = d;
      }
    }
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_cross_entropy_forward(float* losses, float* lse,
                                                     const float* logits,
                                                     const int32_t* targets, int64_t N,
                                                     int64_t V, int32_t ignore_index,
                                                     float label_smoothing) {
  LMT_NONNEG(N);
  LMT_NONNEG(V);
  LMT_ARG(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
          "%s: 'label_smoothing' must be in [0, 1], got %g", __func__, (double)label_smoothing);
  if (N == 0) return LMT_OK;
  LMT_POSITIVE(V);
  LMT_NOT_NULL(losses);
  LMT_NOT_NULL(lse);
  LMT_NOT_NULL(logits);
  LMT_NOT_NULL(targets);
  LMT_GUARD_BEGIN
  if (lmt_status s = check_targets(__func__, targets, N, V, ignore_index)) return s;
  ce_fwd_kernel<<<row_grid(N), row_threads(V), 0, lmt::cuda::stream()>>>(
      losses, lse, logits, targets, N, V, ignore_index, label_smoothing);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_cross_entropy_backward(float* dlogits, const float* dlosses,
                                                      const float* logits, const float* lse,
                                                      const int32_t* targets, int64_t N,
                                                      int64_t V, int32_t ignore_index,
                                                      float label_smoothing) {
  LMT_NONNEG(N);
  LMT_NONNEG(V);
  LMT_ARG(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
          "%s: 'label_smoothing' must be in [0, 1], got %g", __func__, (double)label_smoothing);
  if (N == 0 || V == 0) return LMT_OK;
  LMT_NOT_NULL(dlogits);
  LMT_NOT_NULL(dlosses);
  LMT_NOT_NULL(logits);
  LMT_NOT_NULL(lse);
  LMT_NOT_NULL(targets);
  LMT_GUARD_BEGIN
  if (lmt_status s = check_targets(__func__, targets, N, V, ignore_index)) return s;
  ce_bwd_kernel<<<row_grid(N), row_threads(V), 0, lmt::cuda::stream()>>>(
      dlogits, dlosses, logits, lse, targets, N, V, ignore_index, label_smoothing);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}
