// Reference (double precision, naive) definitions of fill/RNG, elementwise, reduce, softmax,
// GELU, dropout and AdamW. Each mirrors one lmt_* kernel of the same name; tests compare the
// fp32 kernels against these. Plain loops only: these are the definition, not a fast path.
#pragma once
#include <cstdint>
#include <vector>

namespace ref {

using vec = std::vector<double>;

// ---- RNG: an independent Philox4x32-10, so the kernels' RNG is checked bit for bit ----
void philox4x32_10(uint64_t key, uint64_t counter, uint32_t out[4]);
// The float that lmt::uniform_at(seed, index) must return: top 24 bits of v[0] / 2^24.
float uniform_at(uint64_t seed, uint64_t index);
vec fill_uniform(int64_t n, double lo, double hi, uint64_t seed, uint64_t offset);
// Box-Muller: u1 = (v[0] + 0.5) / 2^32 in (0,1), u2 = v[1] / 2^32 in [0,1);
// z = sqrt(-2 ln u1) * cos(2 pi u2); out = mean + std * z.
vec fill_normal(int64_t n, double mean, double stdev, uint64_t seed, uint64_t offset);

// ---- strided copy and its adjoint ----------------------------------------------------
// out (contiguous, shape)[i...] = x[offset + sum i_d * strides_d]
vec copy_strided(const vec& x, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& strides, int64_t offset);
// out[offset + sum i_d * strides_d] += x[i...], starting from `out` as given.
vec scatter_add_strided(vec out, const vec& x, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& strides, int64_t offset);

// ---- elementwise (op codes are lmt_unary_op / lmt_binary_op) ------------------------
double unary_f(int op, double x);
double unary_df(int op, double x);  // f'(x)
vec unary(int op, const vec& x, double alpha, double beta);
vec unary_backward(int op, const vec& dout, const vec& x);
double binary_f(int op, double a, double b);
vec binary(int op, const vec& a, const vec& b, const std::vector<int64_t>& shape,
           const std::vector<int64_t>& a_strides, const std::vector<int64_t>& b_strides);
vec where(const vec& cond, const vec& a, const vec& b, const std::vector<int64_t>& shape,
          const std::vector<int64_t>& c_strides, const std::vector<int64_t>& a_strides,
          const std::vector<int64_t>& b_strides);

// ---- reductions over the middle axis of (outer, dim, inner) -------------------------
// argmax receives the first index of the maximum (op MAX only).
vec reduce(int op, const vec& x, int64_t outer, int64_t dim, int64_t inner,
           std::vector<int32_t>* argmax);
vec reduce_backward(int op, const vec& dout, const std::vector<int32_t>& argmax,
                    int64_t outer, int64_t dim, int64_t inner);

// ---- softmax / log-softmax over the last axis -----------------------------------------
// mask may be empty; row r uses mask row (r / mask_div) % mask_rows. Fully masked rows -> 0.
vec softmax_forward(const vec& x, const vec& mask, int64_t rows, int64_t cols,
                    int64_t mask_rows, int64_t mask_div, bool log);
vec softmax_backward(const vec& dout, const vec& y, int64_t rows, int64_t cols, bool log);

// ---- GELU, tanh approximation ---------------------------------------------------------
vec gelu_forward(const vec& x);
vec gelu_backward(const vec& dout, const vec& x);

// ---- dropout --------------------------------------------------------------------------
vec dropout(const vec& x, double p, uint64_t seed, uint64_t offset);  // forward == backward

// ---- AdamW on one tensor (state kept in double by the caller) --------------------------
void adamw_step(vec& param, vec& m, vec& v, const vec& grad, double lr, double beta1,
                double beta2, double eps, double weight_decay, int64_t step,
                double grad_scale);
double global_norm(const std::vector<vec>& tensors);

}  // namespace ref
