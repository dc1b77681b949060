// Naive double-precision references for matmul, layernorm/rmsnorm, embedding/gather,
// cross-entropy and attention (namespace ref). Each is the textbook formula written out
// with plain loops; buffers are flat row-major vectors with the same layouts as lmt.h.
// Empty vectors stand for the optional (null) arguments.
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace ref {
using vec = std::vector<double>;
using ivec = std::vector<int32_t>;

// c_b = alpha * op(a_b) op(b_b) + beta * c_b; beta == 0 ignores c's prior contents.
void matmul(vec& c, const vec& a, const vec& b, int64_t batch, int64_t M, int64_t N, int64_t K,
            int trans_a, int trans_b, int64_t lda, int64_t ldb, int64_t ldc, int64_t sa,
            int64_t sb, int64_t sc, double alpha, double beta);

void layernorm_forward(vec& out, vec& mean, vec& rstd, const vec& x, const vec& weight,
                       const vec& bias, int64_t N, int64_t C, double eps);
void layernorm_backward(vec& dx, vec& dweight, vec& dbias, const vec& dout, const vec& x,
                        const vec& weight, const vec& mean, const vec& rstd, int64_t N,
                        int64_t C);
void rmsnorm_forward(vec& out, vec& rstd, const vec& x, const vec& weight, int64_t N, int64_t C,
                     double eps);
void rmsnorm_backward(vec& dx, vec& dweight, const vec& dout, const vec& x, const vec& weight,
                      const vec& rstd, int64_t N, int64_t C);

void embedding_forward(vec& out, const ivec& ids, const vec& weight, int64_t N, int64_t V,
                       int64_t C);
void embedding_backward(vec& dweight, const vec& dout, const ivec& ids, int64_t N, int64_t V,
                        int64_t C);
void gather(vec& out, const vec& x, const ivec& idx, int64_t outer, int64_t dim, int64_t inner,
            int64_t n_idx);
void gather_backward(vec& dx, const vec& dout, const ivec& idx, int64_t outer, int64_t dim,
                     int64_t inner, int64_t n_idx);

void cross_entropy_forward(vec& losses, vec& lse, const vec& logits, const ivec& targets,
                           int64_t N, int64_t V, int32_t ignore_index, double label_smoothing);
void cross_entropy_backward(vec& dlogits, const vec& dlosses, const vec& logits,
                            const ivec& targets, int64_t N, int64_t V, int32_t ignore_index,
                            double label_smoothing);

// Materialises the whole (Tq, Tk) score matrix per (b, h).
void attention_forward(vec& out, vec& lse, const vec& q, const vec& k, const vec& v,
                       const vec& bias, const vec& key_mask, int64_t B, int64_t NH, int64_t Tq,
                       int64_t Tk, int64_t HS, int64_t bias_B, int causal, double scale);
// dbias is filled only when `want_dbias`.
void attention_backward(vec& dq, vec& dk, vec& dv, vec& dbias, const vec& dout, const vec& q,
                        const vec& k, const vec& v, const vec& bias, const vec& key_mask,
                        int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                        int64_t bias_B, int causal, double scale, bool want_dbias);
}  // namespace ref
