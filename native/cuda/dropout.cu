// CUDA inverted dropout with a regenerated mask, the device side of native/cpu/dropout.cpp:
//   keep_i = uniform(seed, offset + i) >= p,   out_i = keep_i ? x_i * (1 / (1 - p)) : 0
// lmt::uniform_at is the CPU's own (host-and-device) function and the scale is computed on the
// host exactly as the CPU computes it, so mask and outputs are bitwise the CPU's.
#include "common.cuh"

namespace {

const int kThreads = 256;

__global__ void dropout_kernel(float* out, const float* x, int64_t n, float p, float scale,
                               uint64_t seed, uint64_t offset) {
  LMT_GRID_LOOP(i, n)
    out[i] = lmt::uniform_at(seed, offset + (uint64_t)i) >= p ? __fmul_rn(x[i], scale) : 0.0f;
}

// The CPU's dropout_apply with the loop replaced by the launch.
lmt_status dropout_apply(const char* fn, float* out, const float* x, int64_t n, float p,
                         uint64_t seed, uint64_t offset) {
  LMT_CHECK(lmt::check_dropout(fn, out, x, n, p));
  if (n == 0) return LMT_OK;
  const float scale = 1.0f / (1.0f - p);
  dropout_kernel<<<LMT_GRID(n, kThreads)>>>(out, x, n, p, scale, seed, offset);
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
