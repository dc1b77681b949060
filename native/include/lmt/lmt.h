/* lmtrain native C ABI.
 *
 * Every kernel returns an lmt_status; on failure lmt_last_error() holds a message for the
 * calling thread. Kernels never abort, never throw across this boundary, and validate their
 * scalar arguments (negative sizes, null pointers where data is required, ids out of range).
 * Buffer lengths are the caller's contract: the N-API binding checks them before calling.
 *
 * Argument order: outputs, saved buffers, inputs, weights, then dims and scalars.
 * Accumulation: every kernel writes its outputs with `=` (backward kernels too, including
 * parameter gradients); accumulation across uses is the autograd layer's job. The one
 * exception is lmt_matmul, whose beta argument makes C += explicit.
 *
 * Shape letters:
 *   B  batch            T  sequence length (Tq queries, Tk keys)   C  channels (d_model)
 *   V  vocabulary       NH number of heads                          HS head size (C / NH)
 *   N  rows (B*T, or any flattened leading dims)                    n  element count
 */
#ifndef LMT_LMT_H
#define LMT_LMT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LMT_API __attribute__((visibility("default")))
#else
#define LMT_API
#endif

typedef enum {
  LMT_OK = 0,
  LMT_ERR_INVALID_ARG = 1, /* bad scalar argument: negative size, null pointer, bad enum */
  LMT_ERR_SHAPE = 2,       /* sizes inconsistent with each other */
  LMT_ERR_INDEX = 3,       /* an index (token id, gather index) out of range */
  LMT_ERR_OOM = 4,         /* allocation failed after flushing caches */
  LMT_ERR_DEVICE = 5,      /* device unavailable or device call failed */
  LMT_ERR_INTERNAL = 6     /* unexpected failure (caught C++ exception) */
} lmt_status;

typedef enum { LMT_F32 = 0, LMT_I32 = 1 } lmt_dtype;
typedef enum { LMT_CPU = 0, LMT_CUDA = 1 } lmt_device;

LMT_API const char* lmt_last_error(void);
LMT_API const char* lmt_status_name(lmt_status s);
/* Sets the thread-local error message (printf-style) and returns `s`. */
LMT_API lmt_status lmt_fail(lmt_status s, const char* fmt, ...);

/* ---- thread pool ------------------------------------------------------------------- */
/* Threads used by CPU kernels. Default: LMT_NUM_THREADS if set, else hardware cores. */
LMT_API int lmt_get_num_threads(void);
LMT_API lmt_status lmt_set_num_threads(int n);

/* ---- host storage (64-byte aligned, cached) ---------------------------------------- */
LMT_API lmt_status lmt_host_alloc(void** out, size_t bytes);
LMT_API void lmt_host_free(void* p, size_t bytes);
/* Bytes currently held by the allocator's cache (freed but not returned to the OS). */
LMT_API size_t lmt_host_cached_bytes(void);
LMT_API void lmt_host_flush_cache(void);

/* ---- fill, copy, RNG ----------------------------------------------------------------- */
LMT_API lmt_status lmt_fill(float* out, float value, int64_t n);
LMT_API lmt_status lmt_fill_i32(int32_t* out, int32_t value, int64_t n);
LMT_API lmt_status lmt_cast_i32_f32(float* out, const int32_t* x, int64_t n);
/* Strided gather-copy: out (contiguous, `shape`) [i...] = x[offset + sum(i_d * strides_d)].
   Strides may be 0 (broadcast) and must keep every read inside [0, x_numel). Serves
   permute/transpose, slice, expand and concat (copy into a window by offsetting `out`). */
LMT_API lmt_status lmt_copy_strided(float* out, const float* x, int64_t x_numel, int ndim,
                                    const int64_t* shape, const int64_t* strides,
                                    int64_t offset);
/* Strided scatter-add: the adjoint of lmt_copy_strided.  out[offset + sum(i_d*strides_d)] +=
   x[i...] for contiguous x of `shape`. `out` is NOT cleared (the caller zero-fills). */
LMT_API lmt_status lmt_scatter_add_strided(float* out, int64_t out_numel, const float* x,
                                           int ndim, const int64_t* shape,
                                           const int64_t* strides, int64_t offset);
/* Counter-based RNG (Philox4x32-10). Element i uses counter (offset + i) under key `seed`,
   so results do not depend on the thread count or on how the work is split. */
LMT_API lmt_status lmt_fill_uniform(float* out, int64_t n, float lo, float hi, uint64_t seed,
                                    uint64_t offset);
LMT_API lmt_status lmt_fill_normal(float* out, int64_t n, float mean, float std, uint64_t seed,
                                   uint64_t offset);

/* ---- elementwise --------------------------------------------------------------------- */
typedef enum {
  LMT_UN_NEG = 0, LMT_UN_EXP, LMT_UN_LOG, LMT_UN_TANH, LMT_UN_SQRT, LMT_UN_RSQRT,
  LMT_UN_RELU, LMT_UN_SIGMOID, LMT_UN_ABS, LMT_UN_SQUARE, LMT_UN_RECIPROCAL,
  LMT_UN_COUNT
} lmt_unary_op;
/* out = alpha * f(x) + beta (alpha=1, beta=0 for the plain op; LMT_UN_NEG with alpha gives
   scale). out may alias x. */
LMT_API lmt_status lmt_unary(float* out, const float* x, int64_t n, int op, float alpha,
                             float beta);
/* dx = dout * f'(x), using x and/or y = f(x) as convenient for the op. */
LMT_API lmt_status lmt_unary_backward(float* dx, const float* dout, const float* x,
                                      const float* y, int64_t n, int op);

typedef enum {
  LMT_BIN_ADD = 0, LMT_BIN_SUB, LMT_BIN_MUL, LMT_BIN_DIV, LMT_BIN_MAX, LMT_BIN_MIN,
  LMT_BIN_POW, LMT_BIN_COUNT
} lmt_binary_op;
/* Broadcasting binary op: out (contiguous, `shape`)[i] = a[i . a_strides] op b[i . b_strides].
   Strides are in elements and are 0 on broadcast dimensions. ndim <= 8. */
LMT_API lmt_status lmt_binary(float* out, const float* a, const float* b, int ndim,
                              const int64_t* shape, const int64_t* a_strides,
                              const int64_t* b_strides, int op);
/* out = cond != 0 ? a : b, broadcasting like lmt_binary. */
LMT_API lmt_status lmt_where(float* out, const float* cond, const float* a, const float* b,
                             int ndim, const int64_t* shape, const int64_t* cond_strides,
                             const int64_t* a_strides, const int64_t* b_strides);

/* ---- reductions ---------------------------------------------------------------------- */
typedef enum { LMT_RED_SUM = 0, LMT_RED_MEAN, LMT_RED_MAX, LMT_RED_COUNT } lmt_reduce_op;
/* x viewed as (outer, dim, inner); out (outer, inner) reduces the middle axis. For MAX,
   argmax (outer, inner) receives the first index of the maximum (may be null otherwise).
   Sums accumulate in double. dim must be >= 1. */
LMT_API lmt_status lmt_reduce(float* out, int32_t* argmax, const float* x, int64_t outer,
                              int64_t dim, int64_t inner, int op);
/* dx (outer, dim, inner) from dout (outer, inner): SUM broadcasts, MEAN broadcasts / dim,
   MAX routes dout to argmax. */
LMT_API lmt_status lmt_reduce_backward(float* dx, const float* dout, const int32_t* argmax,
                                       int64_t outer, int64_t dim, int64_t inner, int op);

/* ---- softmax / log-softmax over the last axis ------------------------------------------ */
/* x, out: (rows, cols). mask (optional, additive, may hold -INFINITY) has (mask_rows, cols);
   row r uses mask row (r / mask_div) % mask_rows  (causal (T,T): div 1, rows T; key padding
   (B,T) under (B,NH,T): div NH*T, rows B). A row whose every entry is -inf (fully masked)
   gives all zeros for softmax and log-softmax alike, and a zero gradient: never NaN. */
LMT_API lmt_status lmt_softmax_forward(float* out, const float* x, const float* mask,
                                       int64_t rows, int64_t cols, int64_t mask_rows,
                                       int64_t mask_div, int log);
/* softmax: dx = y * (dy - sum(dy*y));  log-softmax: dx = dy - exp(y) * sum(dy). */
LMT_API lmt_status lmt_softmax_backward(float* dx, const float* dout, const float* y,
                                        int64_t rows, int64_t cols, int log);

/* ---- normalisation ------------------------------------------------------------------- */
/* out (N,C) = (x - mean) * rstd * weight + bias; mean, rstd (N) saved. bias may be null. */
LMT_API lmt_status lmt_layernorm_forward(float* out, float* mean, float* rstd, const float* x,
                                         const float* weight, const float* bias, int64_t N,
                                         int64_t C, float eps);
/* dx (N,C), dweight (C), dbias (C, may be null). */
LMT_API lmt_status lmt_layernorm_backward(float* dx, float* dweight, float* dbias,
                                          const float* dout, const float* x,
                                          const float* weight, const float* mean,
                                          const float* rstd, int64_t N, int64_t C);
/* out = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps). */
LMT_API lmt_status lmt_rmsnorm_forward(float* out, float* rstd, const float* x,
                                       const float* weight, int64_t N, int64_t C, float eps);
LMT_API lmt_status lmt_rmsnorm_backward(float* dx, float* dweight, const float* dout,
                                        const float* x, const float* weight, const float* rstd,
                                        int64_t N, int64_t C);

/* ---- GELU (tanh approximation, as GPT-2) --------------------------------------------- */
LMT_API lmt_status lmt_gelu_forward(float* out, const float* x, int64_t n);
LMT_API lmt_status lmt_gelu_backward(float* dx, const float* dout, const float* x, int64_t n);

/* ---- embedding ----------------------------------------------------------------------- */
/* out (N,C) = weight[ids[i]]; weight (V,C). Any id outside [0,V) -> LMT_ERR_INDEX. */
LMT_API lmt_status lmt_embedding_forward(float* out, const int32_t* ids, const float* weight,
                                         int64_t N, int64_t V, int64_t C);
/* dweight (V,C) = scatter-add of dout rows at ids (dweight is cleared first). */
LMT_API lmt_status lmt_embedding_backward(float* dweight, const float* dout,
                                          const int32_t* ids, int64_t N, int64_t V,
                                          int64_t C);
/* Gather along an axis: x (outer, dim, inner), idx (n_idx) in [0,dim) ->
   out (outer, n_idx, inner). */
LMT_API lmt_status lmt_gather(float* out, const float* x, const int32_t* idx, int64_t outer,
                              int64_t dim, int64_t inner, int64_t n_idx);
/* Adjoint of lmt_gather: dx (outer, dim, inner) cleared, then += dout rows at idx. */
LMT_API lmt_status lmt_gather_backward(float* dx, const float* dout, const int32_t* idx,
                                       int64_t outer, int64_t dim, int64_t inner,
                                       int64_t n_idx);

/* ---- cross-entropy from logits (fused; no softmax is materialised) --------------------- */
/* logits (N,V), targets (N). losses (N): -log softmax(logits)[target] with label smoothing
   eps: (1-eps) * nll + eps * mean_v(-log p_v). Rows whose target == ignore_index get loss 0.
   lse (N) saved: logsumexp of each row. Targets outside [0,V) (and not ignore_index) ->
   LMT_ERR_INDEX. */
LMT_API lmt_status lmt_cross_entropy_forward(float* losses, float* lse, const float* logits,
                                             const int32_t* targets, int64_t N, int64_t V,
                                             int32_t ignore_index, float label_smoothing);
/* dlogits (N,V) = dlosses[i] * (softmax - ((1-eps) onehot + eps/V)); zero on ignored rows. */
LMT_API lmt_status lmt_cross_entropy_backward(float* dlogits, const float* dlosses,
                                              const float* logits, const float* lse,
                                              const int32_t* targets, int64_t N, int64_t V,
                                              int32_t ignore_index, float label_smoothing);

/* ---- scaled dot-product attention (fused, online softmax over key tiles) ---------------- */
/* q (B,NH,Tq,HS), k and v (B,NH,Tk,HS) -> out (B,NH,Tq,HS), lse (B,NH,Tq) saved.
   scores = scale * q.k + bias + key_mask, then causal: key j visible to query i iff
   j <= i + (Tk - Tq). bias (optional): (bias_B, NH, Tq, Tk) with bias_B in {1, B}.
   key_mask (optional, additive, 0 or -inf): (B, Tk). A query that sees no key gets out 0
   and lse -inf. The (Tq,Tk) score matrix is never stored whole. */
LMT_API lmt_status lmt_attention_forward(float* out, float* lse, const float* q, const float* k,
                                         const float* v, const float* bias,
                                         const float* key_mask, int64_t B, int64_t NH,
                                         int64_t Tq, int64_t Tk, int64_t HS, int64_t bias_B,
                                         int causal, float scale);
/* dq (B,NH,Tq,HS), dk, dv (B,NH,Tk,HS), dbias (bias_B,NH,Tq,Tk; may be null; summed over B
   when bias_B == 1). Recomputes probabilities from lse. */
LMT_API lmt_status lmt_attention_backward(float* dq, float* dk, float* dv, float* dbias,
                                          const float* dout, const float* q, const float* k,
                                          const float* v, const float* out, const float* lse,
                                          const float* bias, const float* key_mask, int64_t B,
                                          int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                                          int64_t bias_B, int causal, float scale);

/* ---- matmul -------------------------------------------------------------------------- */
/* For each b < batch: C_b = alpha * op(A_b) op(B_b) + beta * C_b, op(X) = X or X^T.
   op(A_b) is (M,K), op(B_b) is (K,N), C_b is (M,N), all row-major with leading dimensions
   lda, ldb, ldc (elements per stored row) and batch strides sa, sb, sc (0 broadcasts A or B).
   beta == 0 ignores C's prior contents (NaN in C does not propagate). */
LMT_API lmt_status lmt_matmul(float* c, const float* a, const float* b, int64_t batch,
                              int64_t M, int64_t N, int64_t K, int trans_a, int trans_b,
                              int64_t lda, int64_t ldb, int64_t ldc, int64_t sa, int64_t sb,
                              int64_t sc, float alpha, float beta);

/* ---- dropout ------------------------------------------------------------------------- */
/* out = x * keep / (1-p), keep = uniform(seed, offset+i) >= p. p in [0,1). The mask is
   regenerated in backward from (seed, offset); nothing is saved. */
LMT_API lmt_status lmt_dropout_forward(float* out, const float* x, int64_t n, float p,
                                       uint64_t seed, uint64_t offset);
LMT_API lmt_status lmt_dropout_backward(float* dx, const float* dout, int64_t n, float p,
                                        uint64_t seed, uint64_t offset);

/* ---- optimizer ----------------------------------------------------------------------- */
/* AdamW over `count` tensors in one call (decoupled weight decay):
   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  mhat = m/(1-b1^step);  vhat = v/(1-b2^step)
   p -= lr * (mhat / (sqrt(vhat) + eps) + wd_i * p),  wd_i = weight_decay * decay[i].
   g is read as grad_scale * grads[i]. step >= 1. */
LMT_API lmt_status lmt_adamw_step(float* const* params, float* const* m, float* const* v,
                                  const float* const* grads, const int64_t* sizes,
                                  const uint8_t* decay, int count, float lr, float beta1,
                                  float beta2, float eps, float weight_decay, int64_t step,
                                  float grad_scale);
/* L2 norm over all elements of `count` tensors (accumulated in double). */
LMT_API lmt_status lmt_global_norm(double* norm, const float* const* tensors,
                                   const int64_t* sizes, int count);
/* Scales every tensor by max_norm / (norm + 1e-6) when norm > max_norm; returns the norm
   before clipping in *norm. A non-finite norm leaves the tensors untouched. */
LMT_API lmt_status lmt_clip_grad_norm(double* norm, float* const* tensors, const int64_t* sizes,
                                      int count, float max_norm);

/* ---- benchmarks ---------------------------------------------------------------------- */
/* Runs the kernel benchmark suite (native/core/bench.cpp) and hands each result to `sink` as
   one JSON object. spec: comma-separated words: suites (peak, copy, gemm, attention, memory;
   default all), "quick", "progress" (also print each record on stderr), "threads=N"
   (repeatable; default 1 and the pool size). OpenBLAS, when it can be dlopen'ed, is the GEMM
   reference (LMT_BENCH_BLAS names another library exporting cblas_sgemm). */
typedef void (*lmt_bench_sink)(const char* json, void* user);
LMT_API lmt_status lmt_bench_kernels(const char* spec, lmt_bench_sink sink, void* user);

/* ---- build / devices ----------------------------------------------------------------- */
LMT_API const char* lmt_version(void);
LMT_API const char* lmt_cpu_features(void);
/* 1 when the CUDA backend was compiled in. */
LMT_API int lmt_cuda_compiled(void);
/* Number of usable CUDA devices, or 0 with *why set to the reason (never null). */
LMT_API int lmt_cuda_device_count(const char** why);
/* Build facts of the CUDA backend: the CUDA runtime version it was built with (e.g. 13000 for
   13.0; 0 without CUDA) and, in *archs, the virtual architectures its kernels were compiled
   for (e.g. "80,86,89,90"; "" without CUDA). *archs is static storage. */
LMT_API int lmt_cuda_runtime_version(const char** archs);
/* One device's facts (call after lmt_cuda_device_count reported it usable). */
typedef struct {
  char name[256];
  int major, minor;          /* compute capability */
  int multiprocessors;
  size_t total_bytes, free_bytes;
} lmt_cuda_device_facts;
/* LMT_ERR_DEVICE (message in lmt_last_error) when the device cannot be queried. */
LMT_API lmt_status lmt_cuda_device_info(int device, lmt_cuda_device_facts* out);

#ifdef __cplusplus
}
#endif
#endif
