// CUDA inverted dropout with a regenerated mask, the device side of native/cpu/dropout.cpp:
//   keep_i = uniform(seed, offset + i) >= p,   out_i = keep_i ? x_i * (1 / (1 - p)) : 0
// lmt::uniform_at is the CPU's own (host-and-device) function and the scale is computed on the
// host exactly as the CPU computes it, so mask and outputs are bitwise the CPU's.
#include "common.cuh"

namespace {

const int kThreads = 256;

__global__ void dropout_kernel(float* out, const float* x, int64_t n, float p, float scale,
                               uint64_t seed, uint64_t offset) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = lmt::uniform_at(seed, offset + (uint64_t)i) >= p ? __fmul_rn(x[i], scale) : 0.0f;
}

// The CPU's dropout_apply with the loop replaced by the launch: same checks and messages.
lmt_status dropout_apply(const char* fn, float* out, const float* x, int64_t n, float p,
                         uint64_t seed, uint64_t offset) {
  if (n < 0)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'n' must be >= 0, got %lld", fn, (long long)n);
  if (!(p >= 0.0f && p < 1.0f))  // also rejects NaN
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'p' must be in [0, 1), got %g", fn, (double)p);
  if (n == 0) return LMT_OK;
  if (out == nullptr || x == nullptr)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: '%s' is null", fn, out ? "input" : "output");
  const float scale = 1.0f / (1.0f - p);
  dropout_kernel<<<lmt::cuda::blocks_for(n, kThreads), kThreads, 0, lmt::cuda::stream()>>>(
      out, x, n, p, scale, seed, offset);
  return lmt::cuda::launched(fn);
}

}  // namespace

extern "C" lmt_status lmt_cuda_dropout_forward(float* out, const float* x, int64_t n, float p,
                                               uint64_t seed, uint64_t offset) {
  LMT_GUARD_BEGIN
  return dropout_apply(__func__, out, x, n, p, seed, offset);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_dropout_backward(float* dx, const float* dout, int64_t n, float p,
                                                uint64_t seed, uint64_t offset) {
  LMT_GUARD_BEGIN
  return dropout_apply(__func__, dx, dout, n, p, seed, offset);
  LMT_GUARD_END
}
