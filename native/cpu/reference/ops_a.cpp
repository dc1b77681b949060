// Naive double-precision definitions; see ops_a.h. Written for obviousness, not speed.
#include "ops_a.h"

#include <cmath>
#include <limits>

#include "lmt/lmt.h"

namespace ref {

static const double kPi = 3.14159265358979323846;

// ---- RNG ------------------------------------------------------------------------------

void philox4x32_10(uint64_t key, uint64_t counter, uint32_t out[4]) {
  uint32_t c[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
  uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c[0];
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t next[4] = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    for (int i = 0; i < 4; ++i) c[i] = next[i];
    k[0] += 0x9E3779B9u;
    k[1] += 0xBB67AE85u;
  }
  for (int i = 0; i < 4; ++i) out[i] = c[i];
}

float uniform_at(uint64_t seed, uint64_t index) {
  uint32_t r[4];
  philox4x32_10(seed, index, r);
  return (float)((double)(r[0] >> 8) / 16777216.0);
}

vec fill_uniform(int64_t n, double lo, double hi, uint64_t seed, uint64_t offset) {
  vec out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = lo + (hi - lo) * uniform_at(seed, offset + i);
  return out;
}

vec fill_normal(int64_t n, double mean, double stdev, uint64_t seed, uint64_t offset) {
  vec out(n);
  for (int64_t i = 0; i < n; ++i) {
    uint32_t r[4];
    philox4x32_10(seed, offset + i, r);
    double u1 = ((double)r[0] + 0.5) / 4294967296.0;
    double u2 = (double)r[1] / 4294967296.0;
    out[i] = mean + stdev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
  return out;
}

// ---- strided copy ---------------------------------------------------------------------

static int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

// Offset (in elements) of flat row-major index i under `strides`.
static int64_t strided_offset(int64_t i, const std::vector<int64_t>& shape,
                              const std::vector<int64_t>& strides) {
  int64_t off = 0;
  for (int d = (int)shape.size() - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

vec copy_strided(const vec& x, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& strides, int64_t offset) {
  vec out(numel(shape));
  for (int64_t i = 0; i < (int64_t)out.size(); ++i)
    out[i] = x.at(offset + strided_offset(i, shape, strides));
  return out;
}

vec scatter_add_strided(vec out, const vec& x, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& strides, int64_t offset) {
  for (int64_t i = 0; i < numel(shape); ++i)
    out.at(offset + strided_offset(i, shape, strides)) += x[i];
  return out;
}

// ---- elementwise ----------------------------------------------------------------------

double unary_f(int op, double x) {
  switch (op) {
    case LMT_UN_NEG: return -x;
    case LMT_UN_EXP: return std::exp(x);
    case LMT_UN_LOG: return std::log(x);
    case LMT_UN_TANH: return std::tanh(x);
    case LMT_UN_SQRT: return std::sqrt(x);
    case LMT_UN_RSQRT: return 1.0 / std::sqrt(x);
    case LMT_UN_RELU: return x > 0 ? x : 0.0;
    case LMT_UN_SIGMOID: return 1.0 / (1.0 + std::exp(-x));
    case LMT_UN_ABS: return std::fabs(x);
    case LMT_UN_SQUARE: return x * x;
    case LMT_UN_RECIPROCAL: return 1.0 / x;
  }
  return NAN;
}

double unary_df(int op, double x) {
  switch (op) {
    case LMT_UN_NEG: return -1.0;
    case LMT_UN_EXP: return std::exp(x);
    case LMT_UN_LOG: return 1.0 / x;
    case LMT_UN_TANH: return 1.0 - std::tanh(x) * std::tanh(x);
    case LMT_UN_SQRT: return 0.5 / std::sqrt(x);
    case LMT_UN_RSQRT: return -0.5 / (x * std::sqrt(x));
    case LMT_UN_RELU: return x > 0 ? 1.0 : 0.0;
    case LMT_UN_SIGMOID: {
      double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 - s);
    }
    case LMT_UN_ABS: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    case LMT_UN_SQUARE: return 2.0 * x;
    case LMT_UN_RECIPROCAL: return -1.0 / (x * x);
  }
  return NAN;
}

vec unary(int op, const vec& x, double alpha, double beta) {
  vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = alpha * unary_f(op, x[i]) + beta;
  return out;
}

vec unary_backward(int op, const vec& dout, const vec& x) {
  vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = dout[i] * unary_df(op, x[i]);
  return dx;
}

double binary_f(int op, double a, double b) {
  switch (op) {
    case LMT_BIN_ADD: return a + b;
    case LMT_BIN_SUB: return a - b;
    case LMT_BIN_MUL: return a * b;
    case LMT_BIN_DIV: return a / b;
    case LMT_BIN_MAX: return std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b);
    case LMT_BIN_MIN: return std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b);
    case LMT_BIN_POW: return std::pow(a, b);
  }
  return NAN;
}

vec binary(int op, const vec& a, const vec& b, const std::vector<int64_t>& shape,
           const std::vector<int64_t>& a_strides, const std::vector<int64_t>& b_strides) {
  vec out(numel(shape));
  for (int64_t i = 0; i < (int64_t)out.size(); ++i)
    out[i] = binary_f(op, a.at(strided_offset(i, shape, a_strides)),
                      b.at(strided_offset(i, shape, b_strides)));
  return out;
}

vec where(const vec& cond, const vec& a, const vec& b, const std::vector<int64_t>& shape,
          const std::vector<int64_t>& c_strides, const std::vector<int64_t>& a_strides,
          const std::vector<int64_t>& b_strides) {
  vec out(numel(shape));
  for (int64_t i = 0; i < (int64_t)out.size(); ++i)
    out[i] = cond.at(strided_offset(i, shape, c_strides)) != 0
                 ? a.at(strided_offset(i, shape, a_strides))
                 : b.at(strided_offset(i, shape, b_strides));
  return out;
}

// ---- reductions -----------------------------------------------------------------------

vec reduce(int op, const vec& x, int64_t outer, int64_t dim, int64_t inner,
           std::vector<int32_t>* argmax) {
  vec out(outer * inner);
  if (argmax) argmax->assign(outer * inner, 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double acc = op == LMT_RED_MAX ? -INFINITY : 0.0;
      int32_t best = 0;
      for (int64_t d = 0; d < dim; ++d) {
        double v = x[(o * dim + d) * inner + i];
        if (op == LMT_RED_MAX) {
          if (d == 0 || v > acc) {
            acc = v;
            best = (int32_t)d;
          }
        } else {
          acc += v;
        }
      }
      if (op == LMT_RED_MEAN) acc /= (double)dim;
      out[o * inner + i] = acc;
      if (argmax) (*argmax)[o * inner + i] = best;
    }
  return out;
}

vec reduce_backward(int op, const vec& dout, const std::vector<int32_t>& argmax,
                    int64_t outer, int64_t dim, int64_t inner) {
  vec dx(outer * dim * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        double g = dout[o * inner + i];
        double& t = dx[(o * dim + d) * inner + i];
        if (op == LMT_RED_SUM) t = g;
        if (op == LMT_RED_MEAN) t = g / (double)dim;
        if (op == LMT_RED_MAX) t = argmax[o * inner + i] == d ? g : 0.0;
      }
  return dx;
}

// ---- softmax --------------------------------------------------------------------------

vec softmax_forward(const vec& x, const vec& mask, int64_t rows, int64_t cols,
                    int64_t mask_rows, int64_t mask_div, bool log) {
  vec out(rows * cols, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    vec z(cols);
    double mx = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) {
      z[j] = x[r * cols + j];
      if (!mask.empty()) z[j] += mask[((r / mask_div) % mask_rows) * cols + j];
      mx = std::fmax(mx, z[j]);
    }
    if (mx == -INFINITY) continue;  // fully masked: zeros
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(z[j] - mx);
    for (int64_t j = 0; j < cols; ++j)
      out[r * cols + j] = log ? z[j] - mx - std::log(sum) : std::exp(z[j] - mx) / sum;
  }
  return out;
}

vec softmax_backward(const vec& dout, const vec& y, int64_t rows, int64_t cols, bool log) {
  vec dx(rows * cols, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double* dy = &dout[r * cols];
    const double* yr = &y[r * cols];
    bool all_zero = true;  // a fully masked row (forward wrote zeros) has no gradient
    for (int64_t j = 0; j < cols; ++j) all_zero = all_zero && yr[j] == 0.0;
    if (all_zero) continue;
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += log ? dy[j] : dy[j] * yr[j];
    for (int64_t j = 0; j < cols; ++j)
      dx[r * cols + j] = log ? dy[j] - std::exp(yr[j]) * s : yr[j] * (dy[j] - s);
  }
  return dx;
}

// ---- GELU -----------------------------------------------------------------------------

static const double kGeluK = 0.79788456080286535588;  // sqrt(2/pi)
static const double kGeluC = 0.044715;

// 0.5 x (1 + tanh(u)) with 1 + tanh(u) written as 2 / (1 + exp(-2u)) (an identity): the
// tanh form rounds to exactly 0 for x < -6 even in double, which would make tiny-valued
// references meaningless. The test checks both forms agree where tanh is accurate.
vec gelu_forward(const vec& x) {
  vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double u = kGeluK * (x[i] + kGeluC * x[i] * x[i] * x[i]);
    out[i] = x[i] / (1.0 + std::exp(-2.0 * u));
  }
  return out;
}

vec gelu_backward(const vec& dout, const vec& x) {
  vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double u = kGeluK * (x[i] + kGeluC * x[i] * x[i] * x[i]);
    double half_1p_tanh = 1.0 / (1.0 + std::exp(-2.0 * u));  // 0.5 (1 + tanh u)
    double half_1m_tanh = 1.0 / (1.0 + std::exp(2.0 * u));   // 0.5 (1 - tanh u)
    double du = kGeluK * (1.0 + 3.0 * kGeluC * x[i] * x[i]);
    // 0.5 (1 + t) + 0.5 x (1 - t^2) du,  with 1 - t^2 = (1 + t)(1 - t)
    dx[i] = dout[i] * (half_1p_tanh + 2.0 * x[i] * half_1p_tanh * half_1m_tanh * du);
  }
  return dx;
}

// ---- dropout --------------------------------------------------------------------------

vec dropout(const vec& x, double p, uint64_t seed, uint64_t offset) {
  vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = uniform_at(seed, offset + i) >= p ? x[i] / (1.0 - p) : 0.0;
  return out;
}

// ---- AdamW ----------------------------------------------------------------------------

void adamw_step(vec& param, vec& m, vec& v, const vec& grad, double lr, double beta1,
                double beta2, double eps, double weight_decay, int64_t step,
                double grad_scale) {
  double bc1 = 1.0 - std::pow(beta1, (double)step);
  double bc2 = 1.0 - std::pow(beta2, (double)step);
  for (size_t i = 0; i < param.size(); ++i) {
    double g = grad_scale * grad[i];
    m[i] = beta1 * m[i] + (1.0 - beta1) * g;
    v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
    double mhat = m[i] / bc1, vhat = v[i] / bc2;
    param[i] -= lr * (mhat / (std::sqrt(vhat) + eps) + weight_decay * param[i]);
  }
}

double global_norm(const std::vector<vec>& tensors) {
  double s = 0;
  for (const vec& t : tensors)
    for (double x : t) s += x * x;
  return std::sqrt(s);
}

}  // namespace ref
