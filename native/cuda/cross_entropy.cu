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
#include <cmath>
#include <cstdio>

#include "common.cuh"

namespace {

constexpr float LSE_EXACT_LIMIT = 64.0f;
constexpr int kThreads = 256;

__device__ __forceinline__ bool valid_target(int32_t t, int64_t V) { return t >= 0 && (int64_t)t < V; }

__global__ void check_targets_kernel(const int32_t* __restrict__ targets, int64_t N, int64_t V,
                                     int32_t ignore_index, int* flag) {
  int bad = 0;
  LMT_GRID_LOOP(i, N) {
    const int32_t t = targets[i];
    bad |= (t != ignore_index && !valid_target(t, V));
  }
  if (bad) atomicOr(flag, 1);
}

// lmt::check_targets on the device (the TargetsCheck of the shared checks): same statuses and
// messages.
lmt_status device_check_targets(const char* fn, const int32_t* targets, int64_t N, int64_t V,
                                int32_t ignore_index) {
  char msg[160];
  std::snprintf(msg, sizeof msg, "a target is outside [0, %lld) and is not ignore_index (%d)",
                (long long)V, (int)ignore_index);
  return lmt::cuda::check_ids_on_device(
      fn, msg, targets, N,
      [&](int* flag) {
        check_targets_kernel<<<LMT_GRID(N, kThreads)>>>(targets, N, V, ignore_index, flag);
      },
      [&](const char* f, const int32_t* host_targets) {
        return lmt::check_targets(f, host_targets, N, V, ignore_index);
      });
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
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) m = lmt::cuda::nan_max(m, x[v]);
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
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) m = lmt::cuda::nan_max(m, x[v]);
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
  LMT_GUARD_BEGIN
  LMT_CHECK(lmt::check_cross_entropy_forward(__func__, device_check_targets, losses, lse, logits,
                                             targets, N, V, ignore_index, label_smoothing));
  if (N == 0) return LMT_OK;
  ce_fwd_kernel<<<LMT_ROWS(N, V)>>>(losses, lse, logits, targets, N, V, ignore_index,
                                    label_smoothing);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_cross_entropy_backward(float* dlogits, const float* dlosses,
                                                      const float* logits, const float* lse,
                                                      const int32_t* targets, int64_t N,
                                                      int64_t V, int32_t ignore_index,
                                                      float label_smoothing) {
  LMT_GUARD_BEGIN
  LMT_CHECK(lmt::check_cross_entropy_backward(__func__, device_check_targets, dlogits, dlosses,
                                              logits, lse, targets, N, V, ignore_index,
                                              label_smoothing));
  if (N == 0 || V == 0) return LMT_OK;
  ce_bwd_kernel<<<LMT_ROWS(N, V)>>>(dlogits, dlosses, logits, lse, targets, N, V, ignore_index,
                                    label_smoothing);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}
