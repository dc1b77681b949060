// The argument checks both backends run (see checks.h): each function below is the one
// implementation of a kernel's validation, called by lmt_<name> and lmt_cuda_<name> alike.
#include "checks.h"

#include <climits>
#include <cmath>

#include "core.h"

// Inside a check, the kernel's name is `fn`.
#define ARG_NOT_NULL(p) LMT_NOT_NULL_IN(fn, p)
#define ARG_NONNEG(x) LMT_NONNEG_IN(fn, x)
#define ARG_POSITIVE(x) LMT_POSITIVE_IN(fn, x)

namespace lmt {

namespace {

lmt_status check_ndim(const char* fn, int ndim) {
  if (ndim < 0 || ndim > 8)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'ndim' must be in [0, 8], got %d", fn, ndim);
  return LMT_OK;
}

// *count receives the number of elements of shape[0 .. ndim).
lmt_status count_elements(const char* fn, int ndim, const int64_t* shape, int64_t* count) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] < 0)
      return lmt_fail(LMT_ERR_INVALID_ARG, "%s: shape[%d] must be >= 0, got %lld", fn, d,
                      (long long)shape[d]);
    if (__builtin_mul_overflow(n, shape[d], &n))
      return lmt_fail(LMT_ERR_INVALID_ARG, "%s: shape has more than 2^63 elements", fn);
  }
  *count = n;
  return LMT_OK;
}

// (ndim, shape) of the broadcasting kernels' output.
lmt_status check_shape(const char* fn, int ndim, const int64_t* shape, int64_t* count) {
  LMT_CHECK(check_ndim(fn, ndim));
  if (ndim > 0 && shape == nullptr)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: argument 'shape' is null", fn);
  return count_elements(fn, ndim, shape, count);
}

// (ndim, shape, strides, offset) against a buffer of `numel_buf` elements; *count receives the
// number of elements of `shape`.
lmt_status check_view(const char* fn, int64_t numel_buf, int ndim, const int64_t* shape,
                      const int64_t* strides, int64_t offset, int64_t* count) {
  LMT_CHECK(check_ndim(fn, ndim));
  if (ndim > 0 && (shape == nullptr || strides == nullptr))
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'shape' and 'strides' must not be null", fn);
  LMT_CHECK(count_elements(fn, ndim, shape, count));
  if (*count == 0) return LMT_OK;
  // Lowest and highest offset any index can reach, in 128 bits so that absurd strides
  // are reported instead of wrapping around.
  __int128 lo = offset, hi = offset;
  for (int d = 0; d < ndim; ++d) {
    __int128 span = (__int128)(shape[d] - 1) * strides[d];
    if (span < 0) lo += span; else hi += span;
  }
  if (lo < 0 || hi >= numel_buf)
    return lmt_fail(LMT_ERR_SHAPE,
                    "%s: offset %lld with these shape/strides reaches elements [%lld, %lld], "
                    "outside [0, %lld)",
                    fn, (long long)offset, (long long)lo, (long long)hi, (long long)numel_buf);
  return LMT_OK;
}

// The strided copy and its adjoint: numel (named numel_name) is the strided side's size.
lmt_status check_strided(const char* fn, const char* numel_name, int64_t numel, const float* out,
                         const float* x, int ndim, const int64_t* shape, const int64_t* strides,
                         int64_t offset, int64_t* count) {
  LMT_ARG(numel >= 0, "%s: '%s' must be >= 0, got %lld", fn, numel_name, (long long)numel);
  LMT_CHECK(check_view(fn, numel, ndim, shape, strides, offset, count));
  if (*count == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(x);
  return LMT_OK;
}

// (tensors, sizes, count) of a multi-tensor kernel: every tensor with elements needs a pointer.
lmt_status check_list(const char* fn, const char* name, const float* const* tensors,
                      const int64_t* sizes, int count) {
  if (count < 0)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'count' must be >= 0, got %d", fn, count);
  if (count == 0) return LMT_OK;
  if (tensors == nullptr || sizes == nullptr)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: '%s' and 'sizes' must not be null", fn, name);
  for (int t = 0; t < count; ++t) {
    if (sizes[t] < 0)
      return lmt_fail(LMT_ERR_INVALID_ARG, "%s: sizes[%d] must be >= 0, got %lld", fn, t,
                      (long long)sizes[t]);
    if (sizes[t] > 0 && tensors[t] == nullptr)
      return lmt_fail(LMT_ERR_INVALID_ARG, "%s: %s[%d] is null", fn, name, t);
  }
  return LMT_OK;
}

lmt_status check_reduce_dims(const char* fn, int64_t outer, int64_t dim, int64_t inner, int op) {
  if (outer < 0 || inner < 0)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'outer' and 'inner' must be >= 0, got %lld, %lld",
                    fn, (long long)outer, (long long)inner);
  if (dim < 1)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'dim' must be >= 1, got %lld", fn, (long long)dim);
  if (op < 0 || op >= LMT_RED_COUNT)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'op' must be an lmt_reduce_op, got %d", fn, op);
  int64_t n;
  if (__builtin_mul_overflow(outer, dim, &n) || __builtin_mul_overflow(n, inner, &n))
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: outer*dim*inner overflows int64", fn);
  if (op == LMT_RED_MAX && dim > INT32_MAX)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'dim' %lld does not fit the int32 argmax", fn,
                    (long long)dim);
  return LMT_OK;
}

// (rows, cols, log) of both softmax directions.
lmt_status check_softmax_dims(const char* fn, int64_t rows, int64_t cols, int log) {
  ARG_NONNEG(rows);
  ARG_NONNEG(cols);
  LMT_ARG(log == 0 || log == 1, "%s: 'log' must be 0 or 1, got %d", fn, log);
  return LMT_OK;
}

// LayerNorm (mean given) and RMSNorm (mean == null, not checked).
lmt_status check_norm_forward(const char* fn, bool layer, const float* out, const float* mean,
                              const float* rstd, const float* x, const float* weight, int64_t N,
                              int64_t C, float eps) {
  ARG_NONNEG(N);
  ARG_NONNEG(C);
  LMT_ARG(eps >= 0.0f, "%s: 'eps' must be >= 0, got %g", fn, (double)eps);
  if (N == 0) return LMT_OK;
  ARG_POSITIVE(C);
  ARG_NOT_NULL(out);
  if (layer) ARG_NOT_NULL(mean);
  ARG_NOT_NULL(rstd);
  ARG_NOT_NULL(x);
  ARG_NOT_NULL(weight);
  return LMT_OK;
}

lmt_status check_norm_backward(const char* fn, bool layer, const float* dx, const float* dweight,
                               const float* dout, const float* x, const float* weight,
                               const float* mean, const float* rstd, int64_t N, int64_t C) {
  ARG_NONNEG(N);
  ARG_NONNEG(C);
  if (C == 0) return LMT_OK;
  ARG_NOT_NULL(dweight);
  if (N == 0) return LMT_OK;
  ARG_NOT_NULL(dx);
  ARG_NOT_NULL(dout);
  ARG_NOT_NULL(x);
  ARG_NOT_NULL(weight);
  if (layer) ARG_NOT_NULL(mean);
  ARG_NOT_NULL(rstd);
  return LMT_OK;
}

lmt_status check_cross_entropy_dims(const char* fn, int64_t N, int64_t V, float label_smoothing) {
  ARG_NONNEG(N);
  ARG_NONNEG(V);
  LMT_ARG(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
          "%s: 'label_smoothing' must be in [0, 1], got %g", fn, (double)label_smoothing);
  return LMT_OK;
}

}  // namespace

// ---- scans of index data --------------------------------------------------------------------

lmt_status check_ids(const char* fn, const char* what, const int32_t* ids, int64_t n,
                     int64_t limit) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= limit)
      return lmt_fail(LMT_ERR_INDEX, "%s: %s[%lld] = %d is outside [0, %lld)", fn, what,
                      (long long)i, (int)ids[i], (long long)limit);
  return LMT_OK;
}

lmt_status check_targets(const char* fn, const int32_t* targets, int64_t N, int64_t V,
                         int32_t ignore_index) {
  for (int64_t i = 0; i < N; ++i) {
    int32_t t = targets[i];
    if (t != ignore_index && (t < 0 || t >= V))
      return lmt_fail(LMT_ERR_INDEX,
                      "%s: targets[%lld] = %d is outside [0, %lld) and is not ignore_index (%d)",
                      fn, (long long)i, (int)t, (long long)V, (int)ignore_index);
  }
  return LMT_OK;
}

// ---- fill, casts, strided copies, random fills ----------------------------------------------

lmt_status check_fill(const char* fn, const void* out, int64_t n) {
  ARG_NONNEG(n);
  if (n == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  return LMT_OK;
}

lmt_status check_map(const char* fn, const void* out, const void* x, int64_t n) {
  LMT_CHECK(check_fill(fn, out, n));
  if (n == 0) return LMT_OK;
  ARG_NOT_NULL(x);
  return LMT_OK;
}

lmt_status check_copy_strided(const char* fn, const float* out, const float* x, int64_t x_numel,
                              int ndim, const int64_t* shape, const int64_t* strides,
                              int64_t offset, int64_t* count) {
  return check_strided(fn, "x_numel", x_numel, out, x, ndim, shape, strides, offset, count);
}

lmt_status check_scatter_add_strided(const char* fn, const float* out, int64_t out_numel,
                                     const float* x, int ndim, const int64_t* shape,
                                     const int64_t* strides, int64_t offset, int64_t* count) {
  return check_strided(fn, "out_numel", out_numel, out, x, ndim, shape, strides, offset, count);
}

lmt_status check_fill_uniform(const char* fn, const float* out, int64_t n, float lo, float hi) {
  ARG_NONNEG(n);
  LMT_ARG(std::isfinite(lo) && std::isfinite(hi) && lo <= hi,
          "%s: need finite lo <= hi, got lo=%g hi=%g", fn, (double)lo, (double)hi);
  return check_fill(fn, out, n);
}

lmt_status check_fill_normal(const char* fn, const float* out, int64_t n, float mean, float std) {
  ARG_NONNEG(n);
  LMT_ARG(std::isfinite(mean) && std::isfinite(std) && std >= 0,
          "%s: need finite mean and std >= 0, got mean=%g std=%g", fn, (double)mean,
          (double)std);
  return check_fill(fn, out, n);
}

// ---- elementwise ----------------------------------------------------------------------------

lmt_status check_unary(const char* fn, const float* out, const float* x, int64_t n, int op) {
  ARG_NONNEG(n);
  LMT_ARG(op >= 0 && op < LMT_UN_COUNT, "%s: 'op' must be an lmt_unary_op, got %d", fn, op);
  return check_map(fn, out, x, n);
}

lmt_status check_unary_backward(const char* fn, const float* dx, const float* dout,
                                const float* x, const float* y, int64_t n, int op) {
  ARG_NONNEG(n);
  LMT_ARG(op >= 0 && op < LMT_UN_COUNT, "%s: 'op' must be an lmt_unary_op, got %d", fn, op);
  if (n == 0) return LMT_OK;
  ARG_NOT_NULL(dx);
  ARG_NOT_NULL(dout);
  if (op != LMT_UN_NEG) {
    if (unary_grad_from_y(op))
      LMT_ARG(x != nullptr || y != nullptr, "%s: op %d needs 'x' or 'y', both are null", fn,
              op);
    else
      LMT_ARG(x != nullptr, "%s: op %d needs 'x', which is null", fn, op);
  }
  return LMT_OK;
}

lmt_status check_binary(const char* fn, const float* out, const float* a, const float* b, int ndim,
                        const int64_t* shape, const int64_t* a_strides, const int64_t* b_strides,
                        int op, int64_t* count) {
  LMT_ARG(op >= 0 && op < LMT_BIN_COUNT, "%s: 'op' must be an lmt_binary_op, got %d", fn, op);
  LMT_CHECK(check_shape(fn, ndim, shape, count));
  if (ndim > 0) {
    ARG_NOT_NULL(a_strides);
    ARG_NOT_NULL(b_strides);
  }
  if (*count == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(a);
  ARG_NOT_NULL(b);
  return LMT_OK;
}

lmt_status check_where(const char* fn, const float* out, const float* cond, const float* a,
                       const float* b, int ndim, const int64_t* shape,
                       const int64_t* cond_strides, const int64_t* a_strides,
                       const int64_t* b_strides, int64_t* count) {
  LMT_CHECK(check_shape(fn, ndim, shape, count));
  if (ndim > 0) {
    ARG_NOT_NULL(cond_strides);
    ARG_NOT_NULL(a_strides);
    ARG_NOT_NULL(b_strides);
  }
  if (*count == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(cond);
  ARG_NOT_NULL(a);
  ARG_NOT_NULL(b);
  return LMT_OK;
}

// ---- reductions -----------------------------------------------------------------------------

lmt_status check_reduce(const char* fn, const float* out, const int32_t* argmax, const float* x,
                        int64_t outer, int64_t dim, int64_t inner, int op) {
  LMT_CHECK(check_reduce_dims(fn, outer, dim, inner, op));
  if (outer == 0 || inner == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(x);
  return LMT_OK;
}

lmt_status check_reduce_backward(const char* fn, const float* dx, const float* dout,
                                 const int32_t* argmax, int64_t outer, int64_t dim, int64_t inner,
                                 int op) {
  LMT_CHECK(check_reduce_dims(fn, outer, dim, inner, op));
  if (outer == 0 || inner == 0) return LMT_OK;
  ARG_NOT_NULL(dx);
  ARG_NOT_NULL(dout);
  if (op == LMT_RED_MAX) ARG_NOT_NULL(argmax);
  return LMT_OK;
}

// ---- softmax --------------------------------------------------------------------------------

lmt_status check_softmax_forward(const char* fn, const float* out, const float* x,
                                 const float* mask, int64_t rows, int64_t cols, int64_t mask_rows,
                                 int64_t mask_div, int log) {
  LMT_CHECK(check_softmax_dims(fn, rows, cols, log));
  if (mask) {
    ARG_POSITIVE(mask_rows);
    ARG_POSITIVE(mask_div);
  }
  int64_t n;
  LMT_ARG(!__builtin_mul_overflow(rows, cols, &n), "%s: rows*cols overflows int64", fn);
  if (n == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(x);
  return LMT_OK;
}

lmt_status check_softmax_backward(const char* fn, const float* dx, const float* dout,
                                  const float* y, int64_t rows, int64_t cols, int log) {
  LMT_CHECK(check_softmax_dims(fn, rows, cols, log));
  int64_t n;
  LMT_ARG(!__builtin_mul_overflow(rows, cols, &n), "%s: rows*cols overflows int64", fn);
  if (n == 0) return LMT_OK;
  ARG_NOT_NULL(dx);
  ARG_NOT_NULL(dout);
  ARG_NOT_NULL(y);
  return LMT_OK;
}

// ---- normalisation --------------------------------------------------------------------------

lmt_status check_layernorm_forward(const char* fn, const float* out, const float* mean,
                                   const float* rstd, const float* x, const float* weight,
                                   int64_t N, int64_t C, float eps) {
  return check_norm_forward(fn, true, out, mean, rstd, x, weight, N, C, eps);
}

lmt_status check_layernorm_backward(const char* fn, const float* dx, const float* dweight,
                                    const float* dout, const float* x, const float* weight,
                                    const float* mean, const float* rstd, int64_t N, int64_t C) {
  return check_norm_backward(fn, true, dx, dweight, dout, x, weight, mean, rstd, N, C);
}

lmt_status check_rmsnorm_forward(const char* fn, const float* out, const float* rstd,
                                 const float* x, const float* weight, int64_t N, int64_t C,
                                 float eps) {
  return check_norm_forward(fn, false, out, nullptr, rstd, x, weight, N, C, eps);
}

lmt_status check_rmsnorm_backward(const char* fn, const float* dx, const float* dweight,
                                  const float* dout, const float* x, const float* weight,
                                  const float* rstd, int64_t N, int64_t C) {
  return check_norm_backward(fn, false, dx, dweight, dout, x, weight, nullptr, rstd, N, C);
}

// ---- GELU, dropout --------------------------------------------------------------------------

lmt_status check_gelu_backward(const char* fn, const float* dx, const float* dout, const float* x,
                               int64_t n) {
  ARG_NONNEG(n);
  if (n == 0) return LMT_OK;
  ARG_NOT_NULL(dx);
  ARG_NOT_NULL(dout);
  ARG_NOT_NULL(x);
  return LMT_OK;
}

lmt_status check_dropout(const char* fn, const float* out, const float* x, int64_t n, float p) {
  ARG_NONNEG(n);
  LMT_ARG(p >= 0.0f && p < 1.0f,  // also rejects NaN
          "%s: 'p' must be in [0, 1), got %g", fn, (double)p);
  if (n == 0) return LMT_OK;
  if (out == nullptr || x == nullptr)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: '%s' is null", fn, out ? "input" : "output");
  return LMT_OK;
}

// ---- embedding, gather ----------------------------------------------------------------------

lmt_status check_embedding_forward(const char* fn, IdsCheck scan, const float* out,
                                   const int32_t* ids, const float* weight, int64_t N, int64_t V,
                                   int64_t C) {
  ARG_NONNEG(N);
  ARG_NONNEG(V);
  ARG_NONNEG(C);
  if (N == 0) return LMT_OK;
  ARG_NOT_NULL(ids);
  LMT_CHECK(scan(fn, "ids", ids, N, V));
  if (C == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(weight);
  return LMT_OK;
}

lmt_status check_embedding_backward(const char* fn, IdsCheck scan, const float* dweight,
                                    const float* dout, const int32_t* ids, int64_t N, int64_t V,
                                    int64_t C) {
  ARG_NONNEG(N);
  ARG_NONNEG(V);
  ARG_NONNEG(C);
  if (N > 0) {
    ARG_NOT_NULL(ids);
    LMT_CHECK(scan(fn, "ids", ids, N, V));
  }
  if (V == 0 || C == 0) return LMT_OK;
  ARG_NOT_NULL(dweight);
  if (N > 0) ARG_NOT_NULL(dout);
  return LMT_OK;
}

lmt_status check_gather(const char* fn, IdsCheck scan, const float* out, const float* x,
                        const int32_t* idx, int64_t outer, int64_t dim, int64_t inner,
                        int64_t n_idx) {
  ARG_NONNEG(outer);
  ARG_NONNEG(dim);
  ARG_NONNEG(inner);
  ARG_NONNEG(n_idx);
  if (n_idx == 0) return LMT_OK;
  ARG_NOT_NULL(idx);
  LMT_CHECK(scan(fn, "idx", idx, n_idx, dim));
  if (outer == 0 || inner == 0) return LMT_OK;
  ARG_NOT_NULL(out);
  ARG_NOT_NULL(x);
  return LMT_OK;
}

lmt_status check_gather_backward(const char* fn, IdsCheck scan, const float* dx,
                                 const float* dout, const int32_t* idx, int64_t outer,
                                 int64_t dim, int64_t inner, int64_t n_idx) {
  ARG_NONNEG(outer);
  ARG_NONNEG(dim);
  ARG_NONNEG(inner);
  ARG_NONNEG(n_idx);
  if (n_idx > 0) {
    ARG_NOT_NULL(idx);
    LMT_CHECK(scan(fn, "idx", idx, n_idx, dim));
  }
  if (outer == 0 || dim == 0 || inner == 0) return LMT_OK;
  ARG_NOT_NULL(dx);
  if (n_idx > 0) ARG_NOT_NULL(dout);
  return LMT_OK;
}

// ---- cross-entropy --------------------------------------------------------------------------

lmt_status check_cross_entropy_forward(const char* fn, TargetsCheck scan, const float* losses,
                                       const float* lse, const float* logits,
                                       const int32_t* targets, int64_t N, int64_t V,
                                       int32_t ignore_index, float label_smoothing) {
  LMT_CHECK(check_cross_entropy_dims(fn, N, V, label_smoothing));
  if (N == 0) return LMT_OK;
  ARG_POSITIVE(V);
  ARG_NOT_NULL(losses);
  ARG_NOT_NULL(lse);
  ARG_NOT_NULL(logits);
  ARG_NOT_NULL(targets);
  return scan(fn, targets, N, V, ignore_index);
}

lmt_status check_cross_entropy_backward(const char* fn, TargetsCheck scan, const float* dlogits,
                                        const float* dlosses, const float* logits,
                                        const float* lse, const int32_t* targets, int64_t N,
                                        int64_t V, int32_t ignore_index, float label_smoothing) {
  LMT_CHECK(check_cross_entropy_dims(fn, N, V, label_smoothing));
  if (N == 0 || V == 0) return LMT_OK;
  ARG_NOT_NULL(dlogits);
  ARG_NOT_NULL(dlosses);
  ARG_NOT_NULL(logits);
  ARG_NOT_NULL(lse);
  ARG_NOT_NULL(targets);
  return scan(fn, targets, N, V, ignore_index);
}

// ---- optimizer ------------------------------------------------------------------------------

lmt_status check_adamw_step(const char* fn, const float* const* params, const float* const* m,
                            const float* const* v, const float* const* grads,
                            const int64_t* sizes, const uint8_t* decay, int count, float lr,
                            float beta1, float beta2, float eps, float weight_decay, int64_t step,
                            float grad_scale) {
  ARG_NONNEG(count);
  LMT_ARG(step >= 1, "%s: 'step' must be >= 1, got %lld", fn, (long long)step);
  LMT_ARG(std::isfinite(lr), "%s: 'lr' must be finite, got %g", fn, (double)lr);
  LMT_ARG(beta1 >= 0.0f && beta1 < 1.0f, "%s: 'beta1' must be in [0, 1), got %g", fn,
          (double)beta1);
  LMT_ARG(beta2 >= 0.0f && beta2 < 1.0f, "%s: 'beta2' must be in [0, 1), got %g", fn,
          (double)beta2);
  LMT_ARG(eps >= 0.0f && std::isfinite(eps), "%s: 'eps' must be finite and >= 0, got %g", fn,
          (double)eps);
  LMT_ARG(weight_decay >= 0.0f && std::isfinite(weight_decay),
          "%s: 'weight_decay' must be finite and >= 0, got %g", fn, (double)weight_decay);
  LMT_ARG(std::isfinite(grad_scale), "%s: 'grad_scale' must be finite, got %g", fn,
          (double)grad_scale);
  if (count == 0) return LMT_OK;
  ARG_NOT_NULL(decay);
  LMT_CHECK(check_list(fn, "params", params, sizes, count));
  LMT_CHECK(check_list(fn, "m", m, sizes, count));
  LMT_CHECK(check_list(fn, "v", v, sizes, count));
  return check_list(fn, "grads", grads, sizes, count);
}

lmt_status check_global_norm(const char* fn, const double* norm, const float* const* tensors,
                             const int64_t* sizes, int count) {
  ARG_NOT_NULL(norm);
  return check_list(fn, "tensors", tensors, sizes, count);
}

lmt_status check_clip_grad_norm(const char* fn, const double* norm, const float* const* tensors,
                                const int64_t* sizes, int count, float max_norm) {
  ARG_NOT_NULL(norm);
  LMT_ARG(max_norm > 0.0f && std::isfinite(max_norm),
          "%s: 'max_norm' must be finite and > 0, got %g", fn, (double)max_norm);
  return check_list(fn, "tensors", tensors, sizes, count);
}

// ---- matmul -----------------------------------------------------------------------------------
lmt_status check_matmul(const char* fn, const void* c, const void* a, const void* b, int64_t batch,
                        int64_t M, int64_t N, int64_t K, int trans_a, int trans_b, int64_t lda,
                        int64_t ldb, int64_t ldc, int64_t sa, int64_t sb, int64_t sc, float alpha,
                        bool* need_ab) {
  *need_ab = false;
  ARG_NONNEG(batch);
  ARG_NONNEG(M);
  ARG_NONNEG(N);
  ARG_NONNEG(K);
  LMT_ARG(trans_a == 0 || trans_a == 1, "%s: 'trans_a' must be 0 or 1, got %d", fn, trans_a);
  LMT_ARG(trans_b == 0 || trans_b == 1, "%s: 'trans_b' must be 0 or 1, got %d", fn, trans_b);
  ARG_NONNEG(sa);
  ARG_NONNEG(sb);
  ARG_NONNEG(sc);
  // Stored row lengths: A is (M,K) or (K,M) when transposed; B is (K,N) or (N,K).
  int64_t a_row = trans_a ? M : K, b_row = trans_b ? K : N;
  LMT_ARG(lda >= a_row, "%s: 'lda' (%lld) must be >= the stored row length of a (%lld)", fn,
          (long long)lda, (long long)a_row);
  LMT_ARG(ldb >= b_row, "%s: 'ldb' (%lld) must be >= the stored row length of b (%lld)", fn,
          (long long)ldb, (long long)b_row);
  LMT_ARG(ldc >= N, "%s: 'ldc' (%lld) must be >= N (%lld)", fn, (long long)ldc, (long long)N);
  if (batch == 0 || M == 0 || N == 0) return LMT_OK;
  ARG_NOT_NULL(c);
  LMT_ARG(batch == 1 || sc > 0,
          "%s: 'sc' must be > 0 when batch > 1 (batches of C would overlap), got %lld", fn,
          (long long)sc);
  *need_ab = K > 0 && alpha != 0.0f;
  if (*need_ab) {
    ARG_NOT_NULL(a);
    ARG_NOT_NULL(b);
  }
  return LMT_OK;
}

// ---- attention --------------------------------------------------------------------------------
namespace {
lmt_status check_attention_dims(const char* fn, int64_t B, int64_t NH, int64_t Tq, int64_t Tk,
                                int64_t HS, int64_t bias_B, int causal, const float* bias) {
  const int64_t dims[] = {B, NH, Tq, Tk, HS};
  const char* names[] = {"B", "NH", "Tq", "Tk", "HS"};
  for (int d = 0; d < 5; ++d)
    if (dims[d] < 0)
      return lmt_fail(LMT_ERR_INVALID_ARG, "%s: '%s' must be >= 0, got %lld", fn, names[d],
                      (long long)dims[d]);
  if (causal != 0 && causal != 1)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'causal' must be 0 or 1, got %d", fn, causal);
  if (bias && bias_B != 1 && bias_B != B)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: 'bias_B' must be 1 or B (%lld), got %lld", fn,
                    (long long)B, (long long)bias_B);
  return LMT_OK;
}
}  // namespace

lmt_status check_attention_forward(const char* fn, const float* out, const float* lse,
                                   const float* q, const float* k, const float* v,
                                   const float* bias, int64_t B, int64_t NH, int64_t Tq,
                                   int64_t Tk, int64_t HS, int64_t bias_B, int causal) {
  LMT_CHECK(check_attention_dims(fn, B, NH, Tq, Tk, HS, bias_B, causal, bias));
  if (B == 0 || NH == 0 || Tq == 0) return LMT_OK;
  ARG_NOT_NULL(lse);
  if (HS > 0) ARG_NOT_NULL(out);
  if (Tk > 0 && HS > 0) {
    ARG_NOT_NULL(q);
    ARG_NOT_NULL(k);
    ARG_NOT_NULL(v);
  }
  return LMT_OK;
}

lmt_status check_attention_backward(const char* fn, const float* dq, const float* dk,
                                    const float* dv, const float* dbias, const float* dout,
                                    const float* q, const float* k, const float* v,
                                    const float* out, const float* lse, const float* bias,
                                    int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                                    int64_t bias_B, int causal) {
  LMT_CHECK(check_attention_dims(fn, B, NH, Tq, Tk, HS, bias_B, causal, bias));
  LMT_ARG(dbias == nullptr || bias != nullptr,
          "%s: 'dbias' given without 'bias' (bias_B and its shape are then undefined)", fn);
  if (B == 0 || NH == 0 || (Tq == 0 && Tk == 0)) return LMT_OK;
  if (Tq > 0 && HS > 0) ARG_NOT_NULL(dq);
  if (Tk > 0 && HS > 0) {
    ARG_NOT_NULL(dk);
    ARG_NOT_NULL(dv);
  }
  if (Tq > 0 && Tk > 0) {
    ARG_NOT_NULL(lse);
    if (HS > 0) {
      ARG_NOT_NULL(dout);
      ARG_NOT_NULL(q);
      ARG_NOT_NULL(k);
      ARG_NOT_NULL(v);
      ARG_NOT_NULL(out);
    }
  }
  return LMT_OK;
}

}  // namespace lmt
