// Fused scaled dot-product attention (flash-attention style), forward and backward.
//
//   s_ij = scale * q_i . k_j + bias_ij + key_mask_j,  -inf where causal hides j from i
//          (key j visible to query i iff j <= i + (Tk - Tq))
//   out_i = sum_j softmax_j(s_i) v_j,   lse_i = log sum_j exp(s_ij)
//
// Forward walks key tiles of KB keys with an online softmax (running max m, running sum l,
// unnormalised accumulator rescaled when m grows), so only a (QB, KB) tile of scores exists
// at a time. Backward recomputes P_ij = exp(s_ij - lse_i) tile by tile:
//   D_i = dout_i . out_i,  dP_ij = dout_i . v_j,  dS_ij = P_ij (dP_ij - D_i)
//   dq_i = scale sum_j dS_ij k_j,  dk_j = scale sum_i dS_ij q_i,  dv_j = sum_i P_ij dout_i,
//   dbias_ij = dS_ij (summed over b when bias_B == 1).
// A query that sees no key has lse = -inf, out = 0 and zero gradients (never NaN).
//
// Accumulation contract: every output is written with `=` (each task zeroes what it owns
// and accumulates in a fixed order). Forward tasks are (b, h, query block); backward tasks
// are (b, h) -- or h alone when dbias is summed over the batch -- so dk/dv/dbias never race
// and the results are bitwise independent of the thread count.
//
// The tile products (q k^T, P v, dout v^T, P^T dout, dS^T q, dS k) go through lmt_matmul,
// whose packed, register-blocked micro-kernels are several times faster on 64x64 tiles than
// loops over the tile (inside a task it runs on the calling thread). The rest (scores, the
// online softmax, dS) runs over the keys of a tile with unit stride and is compiled for the
// baseline ISA, AVX2+FMA and AVX-512, picked at run time.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "checks.h"
#include "core.h"

namespace {

constexpr int64_t QB = 64;  // queries per block
constexpr int64_t KB = 64;  // keys per tile

struct Args {
  float *out, *lse, *dq, *dk, *dv, *dbias;
  const float *dout, *q, *k, *v, *o, *lse_in, *bias, *key_mask;
  int64_t B, NH, Tq, Tk, HS, bias_B;
  int causal;
  float scale;
};

#define LMT_INLINE inline __attribute__((always_inline))

// Turns raw dot products into scores for queries [i0, i0+qn) x keys [j0, j0+kn) of (b, h):
// scale, bias, key mask, causal. Hidden entries become -inf.
LMT_INLINE void finish_scores(float* s, const Args& A, int64_t b, int64_t h, int64_t i0,
                              int64_t qn, int64_t j0, int64_t kn) {
  const float* bias = A.bias ? A.bias + (((A.bias_B == 1 ? 0 : b) * A.NH + h) * A.Tq) * A.Tk
                             : nullptr;  // (Tq, Tk)
  const float* km = A.key_mask ? A.key_mask + b * A.Tk + j0 : nullptr;  // (kn)
  int64_t off = A.Tk - A.Tq;
  for (int64_t ii = 0; ii < qn; ++ii) {
    float* si = s + ii * KB;
    for (int64_t jj = 0; jj < kn; ++jj) si[jj] *= A.scale;
    if (bias) {
      const float* bi = bias + (i0 + ii) * A.Tk + j0;
      for (int64_t jj = 0; jj < kn; ++jj) si[jj] += bi[jj];
    }
    if (km)
      for (int64_t jj = 0; jj < kn; ++jj) si[jj] += km[jj];
    if (A.causal) {
      int64_t last = i0 + ii + off - j0;  // last visible jj
      for (int64_t jj = std::max<int64_t>(0, last + 1); jj < kn; ++jj) si[jj] = -INFINITY;
    }
  }
}

// Keys a query block [i0, i1) can see: [0, min(Tk, i1 - 1 + off + 1)).
LMT_INLINE int64_t visible_keys(const Args& A, int64_t i1) {
  if (!A.causal) return A.Tk;
  return std::max<int64_t>(0, std::min(A.Tk, i1 + A.Tk - A.Tq));
}

// One (b, h, query block) of the forward pass.
LMT_INLINE void forward_block(const Args& A, int64_t bh, int64_t i0, float* scratch) {
  const int64_t HS = A.HS, b = bh / A.NH, h = bh % A.NH;
  const int64_t qn = std::min(QB, A.Tq - i0);
  float* s = scratch;            // (QB, KB) scores, then probabilities
  float* acc = s + QB * KB;      // (QB, HS) unnormalised output
  float* m = acc + QB * HS;      // (QB) running max
  float* l = m + QB;             // (QB) running sum of exp(s - m)
  const float* q = A.q + (bh * A.Tq + i0) * HS;  // (qn, HS)
  const float* k = A.k + bh * A.Tk * HS;         // (Tk, HS)
  const float* v = A.v + bh * A.Tk * HS;
  for (int64_t x = 0; x < qn * HS; ++x) acc[x] = 0.0f;
  for (int64_t ii = 0; ii < qn; ++ii) {
    m[ii] = -INFINITY;
    l[ii] = 0.0f;
  }
  const int64_t nk = visible_keys(A, i0 + qn);
  for (int64_t j0 = 0; j0 < nk; j0 += KB) {
    const int64_t kn = std::min(KB, nk - j0);
    // s (qn, kn) = q . k_tile^T
    lmt_matmul(s, q, k + j0 * HS, 1, qn, kn, HS, 0, 1, HS, HS, KB, 0, 0, 0, 1.0f, 0.0f);
    finish_scores(s, A, b, h, i0, qn, j0, kn);
    for (int64_t ii = 0; ii < qn; ++ii) {
      float* si = s + ii * KB;
      float mt = -INFINITY;
      for (int64_t jj = 0; jj < kn; ++jj) mt = std::max(mt, si[jj]);
      if (mt == -INFINITY) {  // nothing visible in this tile: the row's state is unchanged
        for (int64_t jj = 0; jj < kn; ++jj) si[jj] = 0.0f;
        continue;
      }
      float mnew = std::max(m[ii], mt);
      float corr = std::exp(m[ii] - mnew);  // 0 on the first visible tile (m = -inf)
      const float sum = (float)lmt::exp_sum(si, si, mnew, kn);
      l[ii] = l[ii] * corr + sum;
      m[ii] = mnew;
      if (corr != 1.0f) {
        float* ai = acc + ii * HS;
        for (int64_t d = 0; d < HS; ++d) ai[d] *= corr;
      }
    }
    // acc (qn, HS) += P (qn, kn) . v (kn, HS)
    lmt_matmul(acc, s, v + j0 * HS, 1, qn, HS, kn, 0, 0, KB, HS, HS, 0, 0, 0, 1.0f, 1.0f);
  }
  float* out = A.out + (bh * A.Tq + i0) * HS;
  float* lse = A.lse + bh * A.Tq + i0;
  for (int64_t ii = 0; ii < qn; ++ii) {
    float* oi = out + ii * HS;
    if (l[ii] == 0.0f) {  // no key visible
      for (int64_t d = 0; d < HS; ++d) oi[d] = 0.0f;
      lse[ii] = -INFINITY;
      continue;
    }
    float inv = 1.0f / l[ii];
    const float* ai = acc + ii * HS;
    for (int64_t d = 0; d < HS; ++d) oi[d] = ai[d] * inv;
    lse[ii] = m[ii] + std::log(l[ii]);
  }
}

// Backward for head (b, h): dq, dk, dv of this head, and dS added into dbias (which the
// caller zeroed).
LMT_INLINE void backward_head(const Args& A, int64_t bh, float* scratch) {
  const int64_t HS = A.HS, b = bh / A.NH, h = bh % A.NH, Tq = A.Tq, Tk = A.Tk;
  float* p = scratch;       // (QB, KB) probabilities
  float* ds = p + QB * KB;  // (QB, KB) dP, then dS
  float* D = ds + QB * KB;  // (Tq) dout_i . out_i
  const float* q = A.q + bh * Tq * HS;  // (Tq, HS)
  const float* k = A.k + bh * Tk * HS;  // (Tk, HS)
  const float* v = A.v + bh * Tk * HS;
  const float* g = A.dout + bh * Tq * HS;  // (Tq, HS)
  const float* o = A.o + bh * Tq * HS;
  const float* lse = A.lse_in + bh * Tq;  // (Tq)
  float* dq = A.dq + bh * Tq * HS;
  float* dk = A.dk + bh * Tk * HS;
  float* dv = A.dv + bh * Tk * HS;
  float* dbias = A.dbias ? A.dbias + (((A.bias_B == 1 ? 0 : b) * A.NH + h) * Tq) * Tk
                         : nullptr;  // (Tq, Tk)
  std::fill(dq, dq + Tq * HS, 0.0f);
  std::fill(dk, dk + Tk * HS, 0.0f);
  std::fill(dv, dv + Tk * HS, 0.0f);
  for (int64_t i = 0; i < Tq; ++i) {
    float sum = 0.0f;
    for (int64_t d = 0; d < HS; ++d) sum += g[i * HS + d] * o[i * HS + d];
    D[i] = sum;
  }
  const int64_t off = A.causal ? Tk - Tq : 0;
  for (int64_t j0 = 0; j0 < Tk; j0 += KB) {
    const int64_t kn = std::min(KB, Tk - j0);
    // Under causality the first query that sees key j0 is j0 - off.
    int64_t istart = A.causal ? std::max<int64_t>(0, j0 - off) / QB * QB : 0;
    for (int64_t i0 = istart; i0 < Tq; i0 += QB) {
      const int64_t qn = std::min(QB, Tq - i0);
      lmt_matmul(p, q + i0 * HS, k + j0 * HS, 1, qn, kn, HS, 0, 1, HS, HS, KB, 0, 0, 0, 1.0f, 0.0f);
      finish_scores(p, A, b, h, i0, qn, j0, kn);
      for (int64_t ii = 0; ii < qn; ++ii) {
        float* pi = p + ii * KB;
        float li = lse[i0 + ii];
        if (li == -INFINITY) {  // a query that saw nothing passes no gradient
          for (int64_t jj = 0; jj < kn; ++jj) pi[jj] = 0.0f;
        } else {
          lmt::exp_sum(pi, pi, li, kn);
        }
      }
      // dP = dout . v^T
      lmt_matmul(ds, g + i0 * HS, v + j0 * HS, 1, qn, kn, HS, 0, 1, HS, HS, KB, 0, 0, 0, 1.0f, 0.0f);
      for (int64_t ii = 0; ii < qn; ++ii) {
        float* di = ds + ii * KB;
        const float* pi = p + ii * KB;
        float Di = D[i0 + ii];
        for (int64_t jj = 0; jj < kn; ++jj) di[jj] = pi[jj] * (di[jj] - Di);
        if (dbias) {
          float* dbi = dbias + (i0 + ii) * Tk + j0;
          for (int64_t jj = 0; jj < kn; ++jj) dbi[jj] += di[jj];
        }
        for (int64_t jj = 0; jj < kn; ++jj) di[jj] *= A.scale;
      }
      // dv_tile += P^T dout;  dk_tile += dS^T q;  dq_block += dS k_tile (masked entries are 0)
      lmt_matmul(dv + j0 * HS, p, g + i0 * HS, 1, kn, HS, qn, 1, 0, KB, HS, HS, 0, 0, 0, 1.0f, 1.0f);
      lmt_matmul(dk + j0 * HS, ds, q + i0 * HS, 1, kn, HS, qn, 1, 0, KB, HS, HS, 0, 0, 0, 1.0f, 1.0f);
      lmt_matmul(dq + i0 * HS, ds, k + j0 * HS, 1, qn, HS, kn, 0, 0, KB, HS, HS, 0, 0, 0, 1.0f, 1.0f);
    }
  }
}

void forward_generic(const Args& A, int64_t bh, int64_t i0, float* s) { forward_block(A, bh, i0, s); }
void backward_generic(const Args& A, int64_t bh, float* s) { backward_head(A, bh, s); }
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void forward_avx2(const Args& A, int64_t bh, int64_t i0,
                                                      float* s) {
  forward_block(A, bh, i0, s);
}
__attribute__((target("avx2,fma"))) void backward_avx2(const Args& A, int64_t bh, float* s) {
  backward_head(A, bh, s);
}
// The same bodies with 512-bit vectors: the tile loops are bound by L1 loads and stores, so
// twice the lanes per access is up to twice the speed.
__attribute__((target("avx512f,prefer-vector-width=512"))) void forward_avx512(const Args& A, int64_t bh, int64_t i0,
                                                                           float* s) {
  forward_block(A, bh, i0, s);
}
__attribute__((target("avx512f,prefer-vector-width=512"))) void backward_avx512(const Args& A, int64_t bh, float* s) {
  backward_head(A, bh, s);
}

bool use_avx512() {
  static const bool yes = !std::getenv("LMT_NO_AVX512") && __builtin_cpu_supports("avx512f");
  return yes;
}
#endif

bool use_avx2() {
#if defined(__x86_64__)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

}  // namespace

extern "C" lmt_status lmt_attention_forward(float* out, float* lse, const float* q,
                                            const float* k, const float* v, const float* bias,
                                            const float* key_mask, int64_t B, int64_t NH,
                                            int64_t Tq, int64_t Tk, int64_t HS, int64_t bias_B,
                                            int causal, float scale) {
  LMT_CHECK(lmt::check_attention_forward(__func__, out, lse, q, k, v, bias, B, NH, Tq, Tk, HS, bias_B,
                                         causal));
  if (B == 0 || NH == 0 || Tq == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  Args A{out, lse, nullptr, nullptr, nullptr, nullptr, nullptr, q, k, v, nullptr, nullptr,
         bias, key_mask, B, NH, Tq, Tk, HS, bias_B, causal, scale};
  const int64_t nqb = (Tq + QB - 1) / QB;
  auto fwd = use_avx2() ? forward_avx2 : forward_generic;
#if defined(__x86_64__)
  if (use_avx512()) fwd = forward_avx512;
#endif
  lmt::parallel_for(B * NH * nqb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> scratch((size_t)(HS * KB + QB * KB + QB * HS + 2 * QB));
    for (int64_t t = t0; t < t1; ++t) fwd(A, t / nqb, (t % nqb) * QB, scratch.data());
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_attention_backward(float* dq, float* dk, float* dv, float* dbias,
                                             const float* dout, const float* q, const float* k,
                                             const float* v, const float* out, const float* lse,
                                             const float* bias, const float* key_mask,
                                             int64_t B, int64_t NH, int64_t Tq, int64_t Tk,
                                             int64_t HS, int64_t bias_B, int causal,
                                             float scale) {
  LMT_CHECK(lmt::check_attention_backward(__func__, dq, dk, dv, dbias, dout, q, k, v, out, lse, bias, B,
                                          NH, Tq, Tk, HS, bias_B, causal));
  if (B == 0 || NH == 0 || (Tq == 0 && Tk == 0)) return LMT_OK;
  LMT_GUARD_BEGIN
  Args A{nullptr, nullptr, dq, dk, dv, dbias, dout, q, k, v, out, lse,
         bias, key_mask, B, NH, Tq, Tk, HS, bias_B, causal, scale};
  auto bwd = use_avx2() ? backward_avx2 : backward_generic;
#if defined(__x86_64__)
  if (use_avx512()) bwd = backward_avx512;
#endif
  const size_t scratch_len = (size_t)(2 * HS * KB + 2 * QB * KB + Tq);
  // dbias shared over the batch: one task per head walks b in order, so the sum over b is
  // race-free and always added in the same order.
  const bool shared_dbias = dbias && bias_B == 1;
  if (shared_dbias) {
    lmt::parallel_for(NH, 1, [&](int64_t h0, int64_t h1) {
      std::vector<float> scratch(scratch_len);
      for (int64_t h = h0; h < h1; ++h) {
        std::fill(dbias + h * Tq * Tk, dbias + (h + 1) * Tq * Tk, 0.0f);
        for (int64_t b = 0; b < B; ++b) bwd(A, b * NH + h, scratch.data());
      }
    });
  } else {
    lmt::parallel_for(B * NH, 1, [&](int64_t t0, int64_t t1) {
      std::vector<float> scratch(scratch_len);
      for (int64_t t = t0; t < t1; ++t) {
        if (dbias) std::fill(dbias + t * Tq * Tk, dbias + (t + 1) * Tq * Tk, 0.0f);
        bwd(A, t, scratch.data());
      }
    });
  }
  return LMT_OK;
  LMT_GUARD_END
}
