// Softmax and log-softmax over the last axis of (rows, cols), with the optional additive mask
// of the CPU kernel, and their backward.
//
// One block per row (grid-stride over rows, so any row count launches). The row is re-read
// from global memory on each pass instead of being staged: rows are at most a few thousand
// floats and stay in L1/L2, and it keeps one code path for every width. As on the CPU, the
// max is subtracted before exponentiating and the row sums accumulate in double; a fully
// masked row writes zeros and gets a zero gradient. out may alias x and dx may alias dout
// (each element is read and then written by the same thread, after the reductions).
#include <cmath>

#include "common.cuh"

namespace {

__global__ void __launch_bounds__(1024)
    softmax_fwd_kernel(float* out, const float* x, const float* mask, int64_t rows,
                       int64_t cols, int64_t mask_rows, int64_t mask_div, int log) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    const float* mr = mask ? mask + ((r / mask_div) % mask_rows) * cols : nullptr;
    float* o = out + r * cols;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      mx = lmt::cuda::nan_max(mx, mr ? xr[j] + mr[j] : xr[j]);
    mx = lmt::cuda::block_max(mx, shf);  // NaN if any score is NaN: it propagates
    if (mx == -INFINITY) {                // fully masked (uniform across the block)
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) o[j] = 0.0f;
      continue;
    }
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      s += (double)expf((mr ? xr[j] + mr[j] : xr[j]) - mx);
    s = lmt::cuda::block_sum(s, shd);
    if (log) {
      const float ls = (float)::log(s);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
        o[j] = ((mr ? xr[j] + mr[j] : xr[j]) - mx) - ls;
    } else {
      const float inv = (float)(1.0 / s);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
        o[j] = expf((mr ? xr[j] + mr[j] : xr[j]) - mx) * inv;
    }
  }
}

__global__ void __launch_bounds__(1024)
    softmax_bwd_kernel(float* dx, const float* dout, const float* y, int64_t rows, int64_t cols,
                       int log) {
  __shared__ double shd[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* dy = dout + r * cols;
    const float* yr = y + r * cols;
    float* g = dx + r * cols;
    // Forward wrote an all-zero row only for a fully masked row (or a 1-column log-softmax,
    // whose gradient is zero too): no gradient flows. NaN counts as nonzero, as on the CPU.
    int nonzero = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) nonzero |= (yr[j] != 0.0f);
    if (!__syncthreads_or(nonzero)) {
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = 0.0f;
      continue;
    }
    double s = 0.0;
    if (log) {
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += (double)dy[j];
    } else {
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += (double)dy[j] * (double)yr[j];
    }
    const float sf = (float)lmt::cuda::block_sum(s, shd);
    if (log) {
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = dy[j] - expf(yr[j]) * sf;
    } else {
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = yr[j] * (dy[j] - sf);
    }
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_softmax_forward(float* out, const float* x, const float* mask,
                                               int64_t rows, int64_t cols, int64_t mask_rows,
                                               int64_t mask_div, int log) {
  LMT_CHECK(lmt::check_softmax_forward(__func__, out, x, mask, rows, cols, mask_rows, mask_div,
                                       log));
  if (rows == 0 || cols == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  softmax_fwd_kernel<<<LMT_ROWS(rows, cols)>>>(out, x, mask, rows, cols, mask_rows, mask_div, log);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_softmax_backward(float* dx, const float* dout, const float* y,
                                                int64_t rows, int64_t cols, int log) {
  LMT_CHECK(lmt::check_softmax_backward(__func__, dx, dout, y, rows, cols, log));
  if (rows == 0 || cols == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  softmax_bwd_kernel<<<LMT_ROWS(rows, cols)>>>(dx, dout, y, rows, cols, log);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}
