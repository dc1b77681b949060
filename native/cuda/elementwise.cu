// CUDA elementwise kernels: unary ops with the affine epilogue and their derivatives, and the
// broadcasting binary ops and `where` over up-to-8-d strided operands (native/cpu/elementwise.cpp
// on the device).
//
// Bitwise parity with the CPU: the ops that are exact in IEEE arithmetic (neg, sqrt, rsqrt,
// relu, abs, square, reciprocal, add, sub, mul, div, max, min, where, and every derivative
// formed from y) are spelled with the _rn intrinsics, so that nvcc neither contracts a*b+c
// into an FMA nor (under fast-math flags) swaps in approximate division or square roots; they
// then give the CPU's exact bits. exp, log, tanh, pow and the sigmoid use the CUDA math
// library, which is within a few ulp of glibc but not bitwise equal.
#include "common.cuh"
#include "view.h"

namespace {

const int kThreads = 256;

// ---- unary --------------------------------------------------------------------------------

template <int OP>
__device__ __forceinline__ float un(float x) {
  if constexpr (OP == LMT_UN_NEG) return -x;
  if constexpr (OP == LMT_UN_EXP) return expf(x);
  if constexpr (OP == LMT_UN_LOG) return logf(x);
  if constexpr (OP == LMT_UN_TANH) return tanhf(x);
  if constexpr (OP == LMT_UN_SQRT) return __fsqrt_rn(x);
  if constexpr (OP == LMT_UN_RSQRT) return __fdiv_rn(1.0f, __fsqrt_rn(x));
  if constexpr (OP == LMT_UN_RELU) return x > 0.0f ? x : 0.0f;
  if constexpr (OP == LMT_UN_SIGMOID) return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x)));
  if constexpr (OP == LMT_UN_ABS) return fabsf(x);
  if constexpr (OP == LMT_UN_SQUARE) return __fmul_rn(x, x);
  if constexpr (OP == LMT_UN_RECIPROCAL) return __fdiv_rn(1.0f, x);
  return 0.0f;
}

// PLAIN: alpha == 1 and beta == 0, where the epilogue is skipped (1*f+0 would turn -0 into +0).
template <int OP, bool PLAIN>
__global__ void unary_kernel(float* out, const float* x, int64_t n, float alpha, float beta) {
  LMT_GRID_LOOP(i, n) {
    const float f = un<OP>(x[i]);
    out[i] = PLAIN ? f : __fadd_rn(__fmul_rn(alpha, f), beta);
  }
}

// f'(x) from x, or from y = f(x) when Y (the CPU's dun, op for op).
template <int OP, bool Y>
__device__ __forceinline__ float dun(float x, float y) {
  if constexpr (OP == LMT_UN_NEG) return -1.0f;
  if constexpr (OP == LMT_UN_EXP) return Y ? y : expf(x);
  if constexpr (OP == LMT_UN_LOG) return __fdiv_rn(1.0f, x);
  if constexpr (OP == LMT_UN_TANH) {
    const float t = Y ? y : tanhf(x);
    return __fsub_rn(1.0f, __fmul_rn(t, t));
  }
  if constexpr (OP == LMT_UN_SQRT) return __fdiv_rn(0.5f, Y ? y : __fsqrt_rn(x));
  if constexpr (OP == LMT_UN_RSQRT) {
    const float r = Y ? y : __fdiv_rn(1.0f, __fsqrt_rn(x));
    return __fmul_rn(__fmul_rn(__fmul_rn(-0.5f, r), r), r);
  }
  if constexpr (OP == LMT_UN_RELU) return x > 0.0f ? 1.0f : 0.0f;
  if constexpr (OP == LMT_UN_SIGMOID) {
    const float s = Y ? y : __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x)));
    return __fmul_rn(s, __fsub_rn(1.0f, s));
  }
  if constexpr (OP == LMT_UN_ABS) return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
  if constexpr (OP == LMT_UN_SQUARE) return __fmul_rn(2.0f, x);
  if constexpr (OP == LMT_UN_RECIPROCAL) {
    if constexpr (Y) return __fmul_rn(-y, y);
    return __fdiv_rn(-1.0f, __fmul_rn(x, x));
  }
  return 0.0f;
}

template <int OP, bool Y>
__global__ void unary_bwd_kernel(float* dx, const float* dout, const float* x, const float* y,
                                 int64_t n) {
  LMT_GRID_LOOP(i, n) {
    const float xv = x ? x[i] : 0.0f;
    const float yv = Y ? y[i] : 0.0f;
    dx[i] = __fmul_rn(dout[i], dun<OP, Y>(xv, yv));
  }
}

template <int OP>
void launch_unary(float* out, const float* x, int64_t n, float alpha, float beta) {
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  if (alpha == 1.0f && beta == 0.0f)
    unary_kernel<OP, true><<<blocks, kThreads, 0, lmt::cuda::stream()>>>(out, x, n, alpha, beta);
  else
    unary_kernel<OP, false><<<blocks, kThreads, 0, lmt::cuda::stream()>>>(out, x, n, alpha, beta);
}

template <int OP>
void launch_unary_bwd(float* dx, const float* dout, const float* x, const float* y, int64_t n) {
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  // y is preferred when given (no transcendental call); x is used otherwise.
  if (y != nullptr && lmt::unary_grad_from_y(OP))
    unary_bwd_kernel<OP, true><<<blocks, kThreads, 0, lmt::cuda::stream()>>>(dx, dout, x, y, n);
  else
    unary_bwd_kernel<OP, false><<<blocks, kThreads, 0, lmt::cuda::stream()>>>(dx, dout, x, y, n);
}

#define LMT_UNARY_CASES(F, ...)                                  \
  switch (op) {                                                  \
    case LMT_UN_NEG: F<LMT_UN_NEG>(__VA_ARGS__); break;          \
    case LMT_UN_EXP: F<LMT_UN_EXP>(__VA_ARGS__); break;          \
    case LMT_UN_LOG: F<LMT_UN_LOG>(__VA_ARGS__); break;          \
    case LMT_UN_TANH: F<LMT_UN_TANH>(__VA_ARGS__); break;        \
    case LMT_UN_SQRT: F<LMT_UN_SQRT>(__VA_ARGS__); break;        \
    case LMT_UN_RSQRT: F<LMT_UN_RSQRT>(__VA_ARGS__); break;      \
    case LMT_UN_RELU: F<LMT_UN_RELU>(__VA_ARGS__); break;        \
    case LMT_UN_SIGMOID: F<LMT_UN_SIGMOID>(__VA_ARGS__); break;  \
    case LMT_UN_ABS: F<LMT_UN_ABS>(__VA_ARGS__); break;          \
    case LMT_UN_SQUARE: F<LMT_UN_SQUARE>(__VA_ARGS__); break;    \
    case LMT_UN_RECIPROCAL: F<LMT_UN_RECIPROCAL>(__VA_ARGS__); break; \
  }

// ---- broadcasting iteration ---------------------------------------------------------------

// Up to three strided operands over one shape, collapsed as on the CPU (view.h); passed to
// the kernels by value.
using MView = lmt::StridedView;
inline MView collapse(int ndim, const int64_t* shape, const int64_t* const* strides, int nops) {
  return lmt::collapse_view(ndim, shape, strides, nops);
}

// Offsets of flat index i in the first NOPS operands. I is the type of the div/mod chain:
// 32-bit when the element count fits (64-bit division is slow on the GPU).
template <int NOPS, class I>
__device__ __forceinline__ void offsets(const MView& v, I i, int64_t* off) {
  for (int k = 0; k < NOPS; ++k) off[k] = 0;
  for (int d = v.nd - 1; d >= 0; --d) {
    const I sh = (I)v.shape[d];
    const I q = i / sh;
    const int64_t idx = (int64_t)(i - q * sh);
    for (int k = 0; k < NOPS; ++k) off[k] += idx * v.st[k][d];
    i = q;
  }
}

// ---- binary -------------------------------------------------------------------------------

template <int OP>
__device__ __forceinline__ float bin(float a, float b) {
  if constexpr (OP == LMT_BIN_ADD) return __fadd_rn(a, b);
  if constexpr (OP == LMT_BIN_SUB) return __fsub_rn(a, b);
  if constexpr (OP == LMT_BIN_MUL) return __fmul_rn(a, b);
  if constexpr (OP == LMT_BIN_DIV) return __fdiv_rn(a, b);
  if constexpr (OP == LMT_BIN_MAX) return (a > b || a != a) ? a : b;  // NaN in either wins
  if constexpr (OP == LMT_BIN_MIN) return (a < b || a != a) ? a : b;
  if constexpr (OP == LMT_BIN_POW) return powf(a, b);
  return 0.0f;
}

template <int OP, class I>
__global__ void binary_kernel(float* out, const float* a,
                              const float* b, MView v, int64_t n) {
  LMT_GRID_LOOP(i, n) {
    int64_t off[2];
    offsets<2, I>(v, (I)i, off);
    out[i] = bin<OP>(a[off[0]], b[off[1]]);
  }
}

// Same shape, both contiguous: no index arithmetic.
template <int OP>
__global__ void binary_flat_kernel(float* out, const float* a,
                                   const float* b, int64_t n) {
  LMT_GRID_LOOP(i, n) out[i] = bin<OP>(a[i], b[i]);
}

template <int OP>
void launch_binary(float* out, const float* a, const float* b, const MView& v, int64_t n) {
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  cudaStream_t s = lmt::cuda::stream();
  if (v.nd == 1 && v.st[0][0] == 1 && v.st[1][0] == 1)
    binary_flat_kernel<OP><<<blocks, kThreads, 0, s>>>(out, a, b, n);
  else if (n <= (int64_t)UINT32_MAX)
    binary_kernel<OP, uint32_t><<<blocks, kThreads, 0, s>>>(out, a, b, v, n);
  else
    binary_kernel<OP, uint64_t><<<blocks, kThreads, 0, s>>>(out, a, b, v, n);
}

template <class I>
__global__ void where_kernel(float* out, const float* cond,
                             const float* a, const float* b, MView v,
                             int64_t n) {
  LMT_GRID_LOOP(i, n) {
    int64_t off[3];
    offsets<3, I>(v, (I)i, off);
    out[i] = cond[off[0]] != 0.0f ? a[off[1]] : b[off[2]];
  }
}

}  // namespace

extern "C" lmt_status lmt_cuda_unary(float* out, const float* x, int64_t n, int op, float alpha,
                                     float beta) {
  LMT_CHECK(lmt::check_unary(__func__, out, x, n, op));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  LMT_UNARY_CASES(launch_unary, out, x, n, alpha, beta)
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_unary_backward(float* dx, const float* dout, const float* x,
                                              const float* y, int64_t n, int op) {
  LMT_CHECK(lmt::check_unary_backward(__func__, dx, dout, x, y, n, op));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  LMT_UNARY_CASES(launch_unary_bwd, dx, dout, x, y, n)
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_binary(float* out, const float* a, const float* b, int ndim,
                                      const int64_t* shape, const int64_t* a_strides,
                                      const int64_t* b_strides, int op) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_binary(__func__, out, a, b, ndim, shape, a_strides, b_strides, op, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const int64_t* strides[3] = {a_strides, b_strides, nullptr};
  const MView v = collapse(ndim, shape, strides, 2);
  switch (op) {
    case LMT_BIN_ADD: launch_binary<LMT_BIN_ADD>(out, a, b, v, n); break;
    case LMT_BIN_SUB: launch_binary<LMT_BIN_SUB>(out, a, b, v, n); break;
    case LMT_BIN_MUL: launch_binary<LMT_BIN_MUL>(out, a, b, v, n); break;
    case LMT_BIN_DIV: launch_binary<LMT_BIN_DIV>(out, a, b, v, n); break;
    case LMT_BIN_MAX: launch_binary<LMT_BIN_MAX>(out, a, b, v, n); break;
    case LMT_BIN_MIN: launch_binary<LMT_BIN_MIN>(out, a, b, v, n); break;
    case LMT_BIN_POW: launch_binary<LMT_BIN_POW>(out, a, b, v, n); break;
  }
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_where(float* out, const float* cond, const float* a,
                                     const float* b, int ndim, const int64_t* shape,
                                     const int64_t* cond_strides, const int64_t* a_strides,
                                     const int64_t* b_strides) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_where(__func__, out, cond, a, b, ndim, shape, cond_strides, a_strides,
                             b_strides, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const int64_t* strides[3] = {cond_strides, a_strides, b_strides};
  const MView v = collapse(ndim, shape, strides, 3);
  const unsigned blocks = lmt::cuda::blocks_for(n, kThreads);
  cudaStream_t s = lmt::cuda::stream();
  if (n <= (int64_t)UINT32_MAX)
    where_kernel<uint32_t><<<blocks, kThreads, 0, s>>>(out, cond, a, b, v, n);
  else
    where_kernel<uint64_t><<<blocks, kThreads, 0, s>>>(out, cond, a, b, v, n);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}
