// Argument validation shared by both backends: every CPU kernel lmt_<name> (native/cpu) and
// its CUDA twin lmt_cuda_<name> (native/cuda) call the same check_<name> here, so the two keep
// one contract (lmt.h): the same checks in the same order, with the same statuses and messages.
//
// Conventions:
//   - `fn` is the calling kernel's name (pass __func__): messages read "lmt_x: ..." or
//     "lmt_cuda_x: ...". The other arguments are the kernel's own, in its order and under its
//     names (messages quote those names).
//   - A check returns lmt_fail(...) at the first bad argument, else LMT_OK. LMT_OK also covers
//     a call with nothing to do: the check stops where the kernel returns early (e.g. n == 0,
//     before the null-pointer checks), and the kernel then tests that same condition itself.
//   - Checks that need data behind a pointer (ids, targets) take the backend's scan of it:
//     check_ids / check_targets below on the CPU, a device kernel on CUDA.
//
// Host code only, plain C++17, definitions in checks.cpp: .cu files include it through
// common.cuh and nvcc hands it to the host compiler.
#pragma once
#include <cstdint>

#include "lmt/lmt.h"

// Returns from the enclosing function with the status of a failed check.
#define LMT_CHECK(expr)                                  \
  do {                                                   \
    lmt_status lmt_check_st_ = (expr);                   \
    if (lmt_check_st_ != LMT_OK) return lmt_check_st_;   \
  } while (0)

namespace lmt {

// ---- scans of index data (host memory) ------------------------------------------------------
// First id outside [0, limit) -> LMT_ERR_INDEX "fn: what[i] = id is outside [0, limit)".
lmt_status check_ids(const char* fn, const char* what, const int32_t* ids, int64_t n,
                     int64_t limit);
// First target outside [0, V) that is not ignore_index -> LMT_ERR_INDEX naming it.
lmt_status check_targets(const char* fn, const int32_t* targets, int64_t N, int64_t V,
                         int32_t ignore_index);
// A backend's form of the two scans above (same arguments, statuses and messages).
using IdsCheck = lmt_status (*)(const char* fn, const char* what, const int32_t* ids, int64_t n,
                                int64_t limit);
using TargetsCheck = lmt_status (*)(const char* fn, const int32_t* targets, int64_t N, int64_t V,
                                    int32_t ignore_index);

// ---- fill, casts, strided copies, random fills ----------------------------------------------
// lmt_fill, lmt_fill_i32. Nothing to do when n == 0.
lmt_status check_fill(const char* fn, const void* out, int64_t n);
// One input, one output, n elements: the casts, lmt_gelu_forward. Nothing to do when n == 0.
lmt_status check_map(const char* fn, const void* out, const void* x, int64_t n);
// *count receives the number of elements of `shape`; nothing to do when it is 0.
lmt_status check_copy_strided(const char* fn, const float* out, const float* x, int64_t x_numel,
                              int ndim, const int64_t* shape, const int64_t* strides,
                              int64_t offset, int64_t* count);
lmt_status check_scatter_add_strided(const char* fn, const float* out, int64_t out_numel,
                                     const float* x, int ndim, const int64_t* shape,
                                     const int64_t* strides, int64_t offset, int64_t* count);
// Nothing to do when n == 0 (for both).
lmt_status check_fill_uniform(const char* fn, const float* out, int64_t n, float lo, float hi);
lmt_status check_fill_normal(const char* fn, const float* out, int64_t n, float mean, float std);

// ---- elementwise ----------------------------------------------------------------------------
// Unary ops whose derivative can be formed from y = f(x) alone; the others need x.
inline bool unary_grad_from_y(int op) {
  return op == LMT_UN_NEG || op == LMT_UN_EXP || op == LMT_UN_TANH || op == LMT_UN_SQRT ||
         op == LMT_UN_RSQRT || op == LMT_UN_SIGMOID || op == LMT_UN_RECIPROCAL;
}
// Nothing to do when n == 0 (for both).
lmt_status check_unary(const char* fn, const float* out, const float* x, int64_t n, int op);
lmt_status check_unary_backward(const char* fn, const float* dx, const float* dout,
                                const float* x, const float* y, int64_t n, int op);
// *count receives the number of elements of `shape`; nothing to do when it is 0 (for both).
lmt_status check_binary(const char* fn, const float* out, const float* a, const float* b, int ndim,
                        const int64_t* shape, const int64_t* a_strides, const int64_t* b_strides,
                        int op, int64_t* count);
lmt_status check_where(const char* fn, const float* out, const float* cond, const float* a,
                       const float* b, int ndim, const int64_t* shape,
                       const int64_t* cond_strides, const int64_t* a_strides,
                       const int64_t* b_strides, int64_t* count);

// ---- reductions -----------------------------------------------------------------------------
// Nothing to do when outer == 0 or inner == 0 (for both). check_reduce_backward requires argmax
// for MAX but leaves its values to the backend (check_ids(fn, "argmax", ...) on the CPU).
lmt_status check_reduce(const char* fn, const float* out, const int32_t* argmax, const float* x,
                        int64_t outer, int64_t dim, int64_t inner, int op);
lmt_status check_reduce_backward(const char* fn, const float* dx, const float* dout,
                                 const int32_t* argmax, int64_t outer, int64_t dim, int64_t inner,
                                 int op);

// ---- softmax --------------------------------------------------------------------------------
// Nothing to do when rows == 0 or cols == 0 (for both).
lmt_status check_softmax_forward(const char* fn, const float* out, const float* x,
                                 const float* mask, int64_t rows, int64_t cols, int64_t mask_rows,
                                 int64_t mask_div, int log);
lmt_status check_softmax_backward(const char* fn, const float* dx, const float* dout,
                                  const float* y, int64_t rows, int64_t cols, int log);

// ---- normalisation --------------------------------------------------------------------------
// Forward: nothing to do when N == 0. Backward: nothing to do when C == 0; when N == 0 (and
// C > 0) only the parameter gradients are written (zeros), and only dweight is checked.
lmt_status check_layernorm_forward(const char* fn, const float* out, const float* mean,
                                   const float* rstd, const float* x, const float* weight,
                                   int64_t N, int64_t C, float eps);
lmt_status check_layernorm_backward(const char* fn, const float* dx, const float* dweight,
                                    const float* dout, const float* x, const float* weight,
                                    const float* mean, const float* rstd, int64_t N, int64_t C);
lmt_status check_rmsnorm_forward(const char* fn, const float* out, const float* rstd,
                                 const float* x, const float* weight, int64_t N, int64_t C,
                                 float eps);
lmt_status check_rmsnorm_backward(const char* fn, const float* dx, const float* dweight,
                                  const float* dout, const float* x, const float* weight,
                                  const float* rstd, int64_t N, int64_t C);

// ---- GELU, dropout --------------------------------------------------------------------------
// Forward: check_map. Nothing to do when n == 0.
lmt_status check_gelu_backward(const char* fn, const float* dx, const float* dout, const float* x,
                               int64_t n);
// Forward (out, x) and backward (dx, dout) alike. Nothing to do when n == 0.
lmt_status check_dropout(const char* fn, const float* out, const float* x, int64_t n, float p);

// ---- embedding, gather ----------------------------------------------------------------------
// Nothing to do when N == 0 or C == 0.
lmt_status check_embedding_forward(const char* fn, IdsCheck scan, const float* out,
                                   const int32_t* ids, const float* weight, int64_t N, int64_t V,
                                   int64_t C);
// Nothing to do when V == 0 or C == 0 (N == 0 clears dweight).
lmt_status check_embedding_backward(const char* fn, IdsCheck scan, const float* dweight,
                                    const float* dout, const int32_t* ids, int64_t N, int64_t V,
                                    int64_t C);
// Nothing to do when n_idx == 0, outer == 0 or inner == 0.
lmt_status check_gather(const char* fn, IdsCheck scan, const float* out, const float* x,
                        const int32_t* idx, int64_t outer, int64_t dim, int64_t inner,
                        int64_t n_idx);
// Nothing to do when outer == 0, dim == 0 or inner == 0 (n_idx == 0 clears dx).
lmt_status check_gather_backward(const char* fn, IdsCheck scan, const float* dx,
                                 const float* dout, const int32_t* idx, int64_t outer,
                                 int64_t dim, int64_t inner, int64_t n_idx);

// ---- cross-entropy --------------------------------------------------------------------------
// Forward: nothing to do when N == 0. Backward: nothing to do when N == 0 or V == 0.
lmt_status check_cross_entropy_forward(const char* fn, TargetsCheck scan, const float* losses,
                                       const float* lse, const float* logits,
                                       const int32_t* targets, int64_t N, int64_t V,
                                       int32_t ignore_index, float label_smoothing);
lmt_status check_cross_entropy_backward(const char* fn, TargetsCheck scan, const float* dlogits,
                                        const float* dlosses, const float* logits,
                                        const float* lse, const int32_t* targets, int64_t N,
                                        int64_t V, int32_t ignore_index, float label_smoothing);

// ---- optimizer ------------------------------------------------------------------------------
// Nothing to do when count == 0.
lmt_status check_adamw_step(const char* fn, const float* const* params, const float* const* m,
                            const float* const* v, const float* const* grads,
                            const int64_t* sizes, const uint8_t* decay, int count, float lr,
                            float beta1, float beta2, float eps, float weight_decay, int64_t step,
                            float grad_scale);
lmt_status check_global_norm(const char* fn, const double* norm, const float* const* tensors,
                             const int64_t* sizes, int count);
lmt_status check_clip_grad_norm(const char* fn, const double* norm, const float* const* tensors,
                                const int64_t* sizes, int count, float max_norm);

// ---- matmul -----------------------------------------------------------------------------------
// lmt_matmul. Nothing to do when batch, M or N is 0; *need_ab says whether a and b are read
// (K > 0 and alpha != 0; otherwise C = beta * C).
lmt_status check_matmul(const char* fn, const void* c, const void* a, const void* b, int64_t batch,
                        int64_t M, int64_t N, int64_t K, int trans_a, int trans_b, int64_t lda,
                        int64_t ldb, int64_t ldc, int64_t sa, int64_t sb, int64_t sc, float alpha,
                        bool* need_ab);

// ---- attention --------------------------------------------------------------------------------
// lmt_attention_forward. Nothing to do when B, NH or Tq is 0.
lmt_status check_attention_forward(const char* fn, const float* out, const float* lse,
                                   const float* q, const float* k, const float* v,
                                   const float* bias, int64_t B, int64_t NH, int64_t Tq,
                                   int64_t Tk, int64_t HS, int64_t bias_B, int causal);
// lmt_attention_backward. Nothing to do when B or NH is 0, or Tq and Tk both are.
lmt_status check_attention_backward(const char* fn, const float* dq, const float* dk,
                                    const float* dv, const float* dbias, const float* dout,
                                    const float* q, const float* k, const float* v,
                                    const float* out, const float* lse, const float* bias,
                                    int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                                    int64_t bias_B, int causal);

}  // namespace lmt
