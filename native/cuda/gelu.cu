// CUDA GELU, tanh approximation (as GPT-2), the device side of native/cpu/gelu.cpp:
//   gelu(x) = x * s,  s = 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu'(x) = s + 2 x s (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  1 - s = exp(-2u) s
// The exp form is the CPU's: it keeps full relative precision for x < 0, where 1 + tanh(u)
// cancels. Each product and sum is spelled with the _rn intrinsics in the CPU's evaluation
// order so that only expf differs from the CPU (by an ulp or two), not the rounding sequence.
#include "common.cuh"

namespace {

const int kThreads = 256;
constexpr float kK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kC = 0.044715f;
constexpr float kM2K = -2.0f * kK;  // folded in float, as the CPU's -2.0f * kK * (...)
constexpr float k3C = 3.0f * kC;    // likewise 3.0f * kC * v * v

// exp(-2u) for input v.
__device__ __forceinline__ float exp_m2u(float v) {
  const float cube = __fmul_rn(__fmul_rn(__fmul_rn(kC, v), v), v);
  return expf(__fmul_rn(kM2K, __fadd_rn(v, cube)));
}

__global__ void gelu_fwd_kernel(float* out, const float* x, int64_t n) {
  LMT_GRID_LOOP(i, n) {
    const float v = x[i];
    out[i] = __fdiv_rn(v, __fadd_rn(1.0f, exp_m2u(v)));  // exp -> inf gives -0
  }
}

__global__ void gelu_bwd_kernel(float* dx, const float* dout, const float* x, int64_t n) {
  LMT_GRID_LOOP(i, n) {
    const float v = x[i];
    const float ex = exp_m2u(v);
    const float s = __fdiv_rn(1.0f, __fadd_rn(1.0f, ex));
    const float oms = ex < INFINITY ? __fmul_rn(ex, s) : 1.0f;  // 1 - s; inf * 0 is NaN
    const float du = __fmul_rn(kK, __fadd_rn(1.0f, __fmul_rn(__fmul_rn(k3C, v), v)));
    const float t = __fmul_rn(__fmul_rn(__fmul_rn(__fmul_rn(2.0f, v), s), oms), du);
    dx[i] = __fmul_rn(dout[i], __fadd_rn(s, t));
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_gelu_forward(float* out, const float* x, int64_t n) {
  LMT_CHECK(lmt::check_map(__func__, out, x, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  gelu_fwd_kernel<<<LMT_GRID(n, kThreads)>>>(out, x, n);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_gelu_backward(float* dx, const float* dout, const float* x,
                                             int64_t n) {
  LMT_CHECK(lmt::check_gelu_backward(__func__, dx, dout, x, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  gelu_bwd_kernel<<<LMT_GRID(n, kThreads)>>>(dx, dout, x, n);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}
