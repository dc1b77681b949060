// Elementwise kernels: unary ops (with an affine epilogue) and their derivatives, and
// broadcasting binary ops and `where` over up-to-8-d strided operands.
//
// Contract: outputs are written with `=`; each output element depends only on the inputs at
// its own index, so results are bitwise independent of the thread count. Math is fp32 with
// the std:: functions (expf, logf, tanhf ...). MAX/MIN propagate NaN like torch.maximum.
#include <cmath>

#include "checks.h"
#include "core.h"
#include "view.h"

namespace {

const int64_t kGrain = 16384;

// ---- unary --------------------------------------------------------------------------------

template <int OP>
inline float un(float x) {
  if constexpr (OP == LMT_UN_NEG) return -x;
  if constexpr (OP == LMT_UN_EXP) return std::exp(x);
  if constexpr (OP == LMT_UN_LOG) return std::log(x);
  if constexpr (OP == LMT_UN_TANH) return std::tanh(x);
  if constexpr (OP == LMT_UN_SQRT) return std::sqrt(x);
  if constexpr (OP == LMT_UN_RSQRT) return 1.0f / std::sqrt(x);
  if constexpr (OP == LMT_UN_RELU) return x > 0.0f ? x : 0.0f;
  if constexpr (OP == LMT_UN_SIGMOID) return 1.0f / (1.0f + std::exp(-x));  // exp -> inf gives 0
  if constexpr (OP == LMT_UN_ABS) return std::fabs(x);
  if constexpr (OP == LMT_UN_SQUARE) return x * x;
  if constexpr (OP == LMT_UN_RECIPROCAL) return 1.0f / x;
  return 0.0f;
}

template <int OP>
void unary_op(float* out, const float* x, int64_t n, float alpha, float beta) {
  // The plain op gets its own loop: alpha*f+beta with (1, 0) would turn -0 into +0.
  const bool plain = alpha == 1.0f && beta == 0.0f;
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    if (plain)
      for (int64_t i = b; i < e; ++i) out[i] = un<OP>(x[i]);
    else
      for (int64_t i = b; i < e; ++i) out[i] = alpha * un<OP>(x[i]) + beta;
  });
}

// f'(x) from x, or from y = f(x) where that is cheaper (Y = true).
template <int OP, bool Y>
inline float dun(float x, float y) {
  if constexpr (OP == LMT_UN_NEG) return -1.0f;
  if constexpr (OP == LMT_UN_EXP) return Y ? y : std::exp(x);
  if constexpr (OP == LMT_UN_LOG) return 1.0f / x;
  if constexpr (OP == LMT_UN_TANH) {
    float t = Y ? y : std::tanh(x);
    return 1.0f - t * t;
  }
  if constexpr (OP == LMT_UN_SQRT) return 0.5f / (Y ? y : std::sqrt(x));
  if constexpr (OP == LMT_UN_RSQRT) {
    float r = Y ? y : 1.0f / std::sqrt(x);
    return -0.5f * r * r * r;
  }
  if constexpr (OP == LMT_UN_RELU) return x > 0.0f ? 1.0f : 0.0f;
  if constexpr (OP == LMT_UN_SIGMOID) {
    float s = Y ? y : 1.0f / (1.0f + std::exp(-x));
    return s * (1.0f - s);
  }
  if constexpr (OP == LMT_UN_ABS) return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
  if constexpr (OP == LMT_UN_SQUARE) return 2.0f * x;
  if constexpr (OP == LMT_UN_RECIPROCAL) {
    if constexpr (Y) return -y * y;
    return -1.0f / (x * x);
  }
  return 0.0f;
}

template <int OP, bool Y>
void unary_bwd(float* dx, const float* dout, const float* x, const float* y, int64_t n) {
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      dx[i] = dout[i] * dun<OP, Y>(x ? x[i] : 0.0f, Y ? y[i] : 0.0f);
  });
}

template <template <int> class K, class... A>
void dispatch_unary(int op, A... args) {
  switch (op) {
    case LMT_UN_NEG: K<LMT_UN_NEG>::run(args...); break;
    case LMT_UN_EXP: K<LMT_UN_EXP>::run(args...); break;
    case LMT_UN_LOG: K<LMT_UN_LOG>::run(args...); break;
    case LMT_UN_TANH: K<LMT_UN_TANH>::run(args...); break;
    case LMT_UN_SQRT: K<LMT_UN_SQRT>::run(args...); break;
    case LMT_UN_RSQRT: K<LMT_UN_RSQRT>::run(args...); break;
    case LMT_UN_RELU: K<LMT_UN_RELU>::run(args...); break;
    case LMT_UN_SIGMOID: K<LMT_UN_SIGMOID>::run(args...); break;
    case LMT_UN_ABS: K<LMT_UN_ABS>::run(args...); break;
    case LMT_UN_SQUARE: K<LMT_UN_SQUARE>::run(args...); break;
    case LMT_UN_RECIPROCAL: K<LMT_UN_RECIPROCAL>::run(args...); break;
  }
}
template <int OP>
struct UnaryK {
  static void run(float* o, const float* x, int64_t n, float a, float b) { unary_op<OP>(o, x, n, a, b); }
};
template <int OP>
struct UnaryBwdK {
  static void run(float* dx, const float* dout, const float* x, const float* y, int64_t n) {
    // y is preferred when given (no transcendental call); x is used otherwise.
    if (y != nullptr && lmt::unary_grad_from_y(OP))
      unary_bwd<OP, true>(dx, dout, x, y, n);
    else
      unary_bwd<OP, false>(dx, dout, x, y, n);
  }
};

// ---- broadcasting iteration ---------------------------------------------------------------

// Up to three strided operands over one shape, collapsed (view.h): the inner loops below
// specialise on the runs that leaves (contiguous, scalar b, bias rows).
using MView = lmt::StridedView;
inline MView collapse(int ndim, const int64_t* shape, const int64_t* const* strides, int nops) {
  return lmt::collapse_view(ndim, shape, strides, nops);
}

// fn(i, off[3], len) for each innermost run of flat indices [i, i+len) inside [begin, end).
template <int NOPS, class F>
void for_each_run(const MView& v, int64_t begin, int64_t end, F&& fn) {
  int64_t idx[8], off[3] = {0, 0, 0};
  int64_t rem = begin;
  for (int d = v.nd - 1; d >= 0; --d) {
    idx[d] = rem % v.shape[d];
    rem /= v.shape[d];
    for (int k = 0; k < NOPS; ++k) off[k] += idx[d] * v.st[k][d];
  }
  const int last = v.nd - 1;
  int64_t i = begin;
  while (i < end) {
    int64_t len = v.shape[last] - idx[last];
    if (len > end - i) len = end - i;
    fn(i, off, len);
    i += len;
    if (i >= end) break;
    for (int k = 0; k < NOPS; ++k) off[k] += (v.shape[last] - idx[last]) * v.st[k][last];
    idx[last] = v.shape[last];
    for (int d = last; d > 0 && idx[d] == v.shape[d]; --d) {
      for (int k = 0; k < NOPS; ++k) off[k] += v.st[k][d - 1] - idx[d] * v.st[k][d];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// ---- binary -------------------------------------------------------------------------------

template <int OP>
inline float bin(float a, float b) {
  if constexpr (OP == LMT_BIN_ADD) return a + b;
  if constexpr (OP == LMT_BIN_SUB) return a - b;
  if constexpr (OP == LMT_BIN_MUL) return a * b;
  if constexpr (OP == LMT_BIN_DIV) return a / b;
  if constexpr (OP == LMT_BIN_MAX) return (a > b || a != a) ? a : b;  // NaN in either wins
  if constexpr (OP == LMT_BIN_MIN) return (a < b || a != a) ? a : b;
  if constexpr (OP == LMT_BIN_POW) return std::pow(a, b);
  return 0.0f;
}

template <int OP>
inline void bin_run(float* o, const float* a, int64_t sa, const float* b, int64_t sb,
                    int64_t len) {
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < len; ++j) o[j] = bin<OP>(a[j], b[j]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t j = 0; j < len; ++j) o[j] = bin<OP>(a[j], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t j = 0; j < len; ++j) o[j] = bin<OP>(av, b[j]);
  } else {
    for (int64_t j = 0; j < len; ++j) o[j] = bin<OP>(a[j * sa], b[j * sb]);
  }
}

template <int OP>
void binary_op(float* out, const float* a, const float* b, const MView& v, int64_t n) {
  const int last = v.nd - 1;
  const int64_t sa = v.st[0][last], sb = v.st[1][last];
  lmt::parallel_for(n, kGrain, [&](int64_t beg, int64_t end) {
    for_each_run<2>(v, beg, end, [&](int64_t i, const int64_t* off, int64_t len) {
      bin_run<OP>(out + i, a + off[0], sa, b + off[1], sb, len);
    });
  });
}

}  // namespace

extern "C" lmt_status lmt_unary(float* out, const float* x, int64_t n, int op, float alpha,
                                float beta) {
  LMT_CHECK(lmt::check_unary(__func__, out, x, n, op));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  dispatch_unary<UnaryK>(op, out, x, n, alpha, beta);
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_unary_backward(float* dx, const float* dout, const float* x,
                                         const float* y, int64_t n, int op) {
  LMT_CHECK(lmt::check_unary_backward(__func__, dx, dout, x, y, n, op));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  dispatch_unary<UnaryBwdK>(op, dx, dout, x, y, n);
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_binary(float* out, const float* a, const float* b, int ndim,
                                 const int64_t* shape, const int64_t* a_strides,
                                 const int64_t* b_strides, int op) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_binary(__func__, out, a, b, ndim, shape, a_strides, b_strides, op, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const int64_t* strides[3] = {a_strides, b_strides, nullptr};
  MView v = collapse(ndim, shape, strides, 2);
  switch (op) {
    case LMT_BIN_ADD: binary_op<LMT_BIN_ADD>(out, a, b, v, n); break;
    case LMT_BIN_SUB: binary_op<LMT_BIN_SUB>(out, a, b, v, n); break;
    case LMT_BIN_MUL: binary_op<LMT_BIN_MUL>(out, a, b, v, n); break;
    case LMT_BIN_DIV: binary_op<LMT_BIN_DIV>(out, a, b, v, n); break;
    case LMT_BIN_MAX: binary_op<LMT_BIN_MAX>(out, a, b, v, n); break;
    case LMT_BIN_MIN: binary_op<LMT_BIN_MIN>(out, a, b, v, n); break;
    case LMT_BIN_POW: binary_op<LMT_BIN_POW>(out, a, b, v, n); break;
  }
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_where(float* out, const float* cond, const float* a, const float* b,
                                int ndim, const int64_t* shape, const int64_t* cond_strides,
                                const int64_t* a_strides, const int64_t* b_strides) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_where(__func__, out, cond, a, b, ndim, shape, cond_strides, a_strides,
                             b_strides, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const int64_t* strides[3] = {cond_strides, a_strides, b_strides};
  MView v = collapse(ndim, shape, strides, 3);
  const int last = v.nd - 1;
  const int64_t sc = v.st[0][last], sa = v.st[1][last], sb = v.st[2][last];
  lmt::parallel_for(n, kGrain, [&](int64_t beg, int64_t end) {
    for_each_run<3>(v, beg, end, [&](int64_t i, const int64_t* off, int64_t len) {
      const float *c = cond + off[0], *pa = a + off[1], *pb = b + off[2];
      float* o = out + i;
      if (sc == 1 && sa == 1 && sb == 1) {
        for (int64_t j = 0; j < len; ++j) o[j] = c[j] != 0.0f ? pa[j] : pb[j];
      } else {
        for (int64_t j = 0; j < len; ++j) o[j] = c[j * sc] != 0.0f ? pa[j * sa] : pb[j * sb];
      }
    });
  });
  return LMT_OK;
  LMT_GUARD_END
}
