/* lmtrain CUDA backend C ABI (native/cuda, compiled when nvcc is found: LMT_WITH_CUDA).
 *
 * Every kernel `lmt_cuda_<name>` has exactly the signature and the contract of the CPU
 * kernel `lmt_<name>` in lmt.h (same argument order, same validation, same results within
 * the precision bounds of native/tests/cuda), with these differences:
 *   - tensor data pointers are DEVICE pointers (from lmt_cuda_malloc);
 *   - host-side descriptors stay in host memory: shape/stride arrays, the per-tensor pointer
 *     and size arrays of the multi-tensor kernels (the pointers they hold are device
 *     pointers), and scalar results (lmt_global_norm's *norm);
 *   - kernels are asynchronous on the backend's stream (lmt_cuda_synchronize waits); a launch
 *     or device error is reported as LMT_ERR_DEVICE by the call that sees it;
 *   - id checks (embedding ids, gather indices, cross-entropy targets) happen on the device:
 *     an id out of range is never read through; the kernel raises a device flag and the call
 *     waits for the stream and returns LMT_ERR_INDEX, as the CPU kernel would.
 * Without a CUDA build these symbols do not exist; lmt_cuda_compiled() says which build this is.
 */
#ifndef LMT_LMT_CUDA_H
#define LMT_LMT_CUDA_H

#include "lmt/lmt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- runtime: device memory (cached), copies, stream ------------------------------------ */
/* Selects the device every later call uses (default 0). */
LMT_API lmt_status lmt_cuda_set_device(int device);
/* Device memory from a size-bucketed cache; flushes the cache and retries before OOM. */
LMT_API lmt_status lmt_cuda_malloc(void** out, size_t bytes);
/* Returns the block to the cache. Safe while kernels using it are queued: the cache hands it
   out only to later work on the same stream. */
LMT_API void lmt_cuda_free(void* p, size_t bytes);
LMT_API size_t lmt_cuda_cached_bytes(void);
LMT_API void lmt_cuda_flush_cache(void);
/* Copies wait for queued work that writes `src` (they run on the stream) and, for device ->
   host, return once the bytes are in host memory. */
LMT_API lmt_status lmt_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes);
LMT_API lmt_status lmt_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes);
LMT_API lmt_status lmt_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes);
/* Waits for every queued kernel; reports an asynchronous device error if one happened. */
LMT_API lmt_status lmt_cuda_synchronize(void);

/* ---- matmul precision ------------------------------------------------------------------- */
/* How lmt_cuda_matmul computes its fp32 products: FP32 (fp32 FMA, the default, to match the
   CPU), BF16 or TF32 (tensor cores, inputs rounded to bf16 or to tf32, fp32 accumulation;
   compute capability 8.0+, else FP32 is used). */
typedef enum { LMT_PREC_FP32 = 0, LMT_PREC_BF16 = 1, LMT_PREC_TF32 = 2 } lmt_precision;
LMT_API lmt_status lmt_cuda_set_matmul_precision(int precision);
LMT_API int lmt_cuda_get_matmul_precision(void);
/* Which bf16 tensor-core GEMM runs: 0 (auto, the default) uses the sm_90a wgmma kernel on
   compute capability 9.0 when this binary has sm_90a code and the kernel passes a self-check
   (an exact product, run once on first use), else the mma.sync kernel; 1 always uses the
   mma.sync kernel. lmt_cuda_gemm_kernel says which is in use: 2 wgmma, 1 mma.sync, 0 none
   (no tensor cores: bf16 precision falls back to fp32). */
LMT_API lmt_status lmt_cuda_set_gemm_kernel(int kernel);
LMT_API int lmt_cuda_gemm_kernel(void);

/* bf16 storage (raw uint16 bit patterns, round-to-nearest-even). */
LMT_API lmt_status lmt_cuda_cast_f32_bf16(uint16_t* out, const float* x, int64_t n);
LMT_API lmt_status lmt_cuda_cast_bf16_f32(float* out, const uint16_t* x, int64_t n);
/* lmt_matmul's contract with bf16 inputs, fp32 accumulation, and C in fp32 (c_bf16 = 0) or
   bf16 (c_bf16 = 1; beta then reads the bf16 C). */
LMT_API lmt_status lmt_cuda_matmul_bf16(void* c, int c_bf16, const uint16_t* a, const uint16_t* b,
                                        int64_t batch, int64_t M, int64_t N, int64_t K,
                                        int trans_a, int trans_b, int64_t lda, int64_t ldb,
                                        int64_t ldc, int64_t sa, int64_t sb, int64_t sc,
                                        float alpha, float beta);

/* ---- kernels: see lmt.h for each contract ------------------------------------------------ */
LMT_API lmt_status lmt_cuda_fill(float* out, float value, int64_t n);
LMT_API lmt_status lmt_cuda_fill_i32(int32_t* out, int32_t value, int64_t n);
LMT_API lmt_status lmt_cuda_cast_i32_f32(float* out, const int32_t* x, int64_t n);
LMT_API lmt_status lmt_cuda_copy_strided(float* out, const float* x, int64_t x_numel, int ndim,
                                         const int64_t* shape, const int64_t* strides,
                                         int64_t offset);
LMT_API lmt_status lmt_cuda_scatter_add_strided(float* out, int64_t out_numel, const float* x,
                                                int ndim, const int64_t* shape,
                                                const int64_t* strides, int64_t offset);
LMT_API lmt_status lmt_cuda_fill_uniform(float* out, int64_t n, float lo, float hi,
                                         uint64_t seed, uint64_t offset);
LMT_API lmt_status lmt_cuda_fill_normal(float* out, int64_t n, float mean, float std,
                                        uint64_t seed, uint64_t offset);

LMT_API lmt_status lmt_cuda_unary(float* out, const float* x, int64_t n, int op, float alpha,
                                  float beta);
LMT_API lmt_status lmt_cuda_unary_backward(float* dx, const float* dout, const float* x,
                                           const float* y, int64_t n, int op);
LMT_API lmt_status lmt_cuda_binary(float* out, const float* a, const float* b, int ndim,
                                   const int64_t* shape, const int64_t* a_strides,
                                   const int64_t* b_strides, int op);
LMT_API lmt_status lmt_cuda_where(float* out, const float* cond, const float* a, const float* b,
                                  int ndim, const int64_t* shape, const int64_t* cond_strides,
                                  const int64_t* a_strides, const int64_t* b_strides);
LMT_API lmt_status lmt_cuda_reduce(float* out, int32_t* argmax, const float* x, int64_t outer,
                                   int64_t dim, int64_t inner, int op);
LMT_API lmt_status lmt_cuda_reduce_backward(float* dx, const float* dout, const int32_t* argmax,
                                            int64_t outer, int64_t dim, int64_t inner, int op);

LMT_API lmt_status lmt_cuda_softmax_forward(float* out, const float* x, const float* mask,
                                            int64_t rows, int64_t cols, int64_t mask_rows,
                                            int64_t mask_div, int log);
LMT_API lmt_status lmt_cuda_softmax_backward(float* dx, const float* dout, const float* y,
                                             int64_t rows, int64_t cols, int log);

LMT_API lmt_status lmt_cuda_layernorm_forward(float* out, float* mean, float* rstd,
                                              const float* x, const float* weight,
                                              const float* bias, int64_t N, int64_t C,
                                              float eps);
LMT_API lmt_status lmt_cuda_layernorm_backward(float* dx, float* dweight, float* dbias,
                                               const float* dout, const float* x,
                                               const float* weight, const float* mean,
                                               const float* rstd, int64_t N, int64_t C);
LMT_API lmt_status lmt_cuda_rmsnorm_forward(float* out, float* rstd, const float* x,
                                            const float* weight, int64_t N, int64_t C,
                                            float eps);
LMT_API lmt_status lmt_cuda_rmsnorm_backward(float* dx, float* dweight, const float* dout,
                                             const float* x, const float* weight,
                                             const float* rstd, int64_t N, int64_t C);

LMT_API lmt_status lmt_cuda_gelu_forward(float* out, const float* x, int64_t n);
LMT_API lmt_status lmt_cuda_gelu_backward(float* dx, const float* dout, const float* x,
                                          int64_t n);

LMT_API lmt_status lmt_cuda_embedding_forward(float* out, const int32_t* ids,
                                              const float* weight, int64_t N, int64_t V,
                                              int64_t C);
LMT_API lmt_status lmt_cuda_embedding_backward(float* dweight, const float* dout,
                                               const int32_t* ids, int64_t N, int64_t V,
                                               int64_t C);
LMT_API lmt_status lmt_cuda_gather(float* out, const float* x, const int32_t* idx,
                                   int64_t outer, int64_t dim, int64_t inner, int64_t n_idx);
LMT_API lmt_status lmt_cuda_gather_backward(float* dx, const float* dout, const int32_t* idx,
                                            int64_t outer, int64_t dim, int64_t inner,
                                            int64_t n_idx);

LMT_API lmt_status lmt_cuda_cross_entropy_forward(float* losses, float* lse,
                                                  const float* logits, const int32_t* targets,
                                                  int64_t N, int64_t V, int32_t ignore_index,
                                                  float label_smoothing);
LMT_API lmt_status lmt_cuda_cross_entropy_backward(float* dlogits, const float* dlosses,
                                                   const float* logits, const float* lse,
                                                   const int32_t* targets, int64_t N, int64_t V,
                                                   int32_t ignore_index, float label_smoothing);

LMT_API lmt_status lmt_cuda_attention_forward(float* out, float* lse, const float* q,
                                              const float* k, const float* v, const float* bias,
                                              const float* key_mask, int64_t B, int64_t NH,
                                              int64_t Tq, int64_t Tk, int64_t HS,
                                              int64_t bias_B, int causal, float scale);
LMT_API lmt_status lmt_cuda_attention_backward(float* dq, float* dk, float* dv, float* dbias,
                                               const float* dout, const float* q,
                                               const float* k, const float* v, const float* out,
                                               const float* lse, const float* bias,
                                               const float* key_mask, int64_t B, int64_t NH,
                                               int64_t Tq, int64_t Tk, int64_t HS,
                                               int64_t bias_B, int causal, float scale);

LMT_API lmt_status lmt_cuda_matmul(float* c, const float* a, const float* b, int64_t batch,
                                   int64_t M, int64_t N, int64_t K, int trans_a, int trans_b,
                                   int64_t lda, int64_t ldb, int64_t ldc, int64_t sa,
                                   int64_t sb, int64_t sc, float alpha, float beta);

LMT_API lmt_status lmt_cuda_dropout_forward(float* out, const float* x, int64_t n, float p,
                                            uint64_t seed, uint64_t offset);
LMT_API lmt_status lmt_cuda_dropout_backward(float* dx, const float* dout, int64_t n, float p,
                                             uint64_t seed, uint64_t offset);

LMT_API lmt_status lmt_cuda_adamw_step(float* const* params, float* const* m, float* const* v,
                                       const float* const* grads, const int64_t* sizes,
                                       const uint8_t* decay, int count, float lr, float beta1,
                                       float beta2, float eps, float weight_decay, int64_t step,
                                       float grad_scale);
LMT_API lmt_status lmt_cuda_global_norm(double* norm, const float* const* tensors,
                                        const int64_t* sizes, int count);
LMT_API lmt_status lmt_cuda_clip_grad_norm(double* norm, float* const* tensors,
                                           const int64_t* sizes, int count, float max_norm);

#ifdef __cplusplus
}
#endif
#endif
