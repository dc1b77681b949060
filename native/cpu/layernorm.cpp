// LayerNorm and RMSNorm over the last axis of x (N, C), forward and backward.
//
// Accumulation contract: every output is written with `=`, parameter gradients included.
// Row statistics accumulate in double (C can be large and x far from zero). dweight/dbias
// are summed over rows in fixed blocks whose size depends only on N; block partials are then
// added in block order, so the result is bitwise the same for any thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "checks.h"
#include "core.h"

namespace {

// Rows per partial-sum block for the parameter gradients: a function of N alone.
int64_t param_block_rows(int64_t N) { return std::max<int64_t>(32, (N + 127) / 128); }

// Sums per-block partials (nblocks, C) in block order into out (C).
void reduce_blocks(float* out, const std::vector<float>& part, int64_t nblocks, int64_t C) {
  lmt::parallel_for(C, 256, [&](int64_t c0, int64_t c1) {
    for (int64_t j = c0; j < c1; ++j) {
      double s = 0;
      for (int64_t blk = 0; blk < nblocks; ++blk) s += part[blk * C + j];
      out[j] = (float)s;
    }
  });
}

// One row of the backward: norm = (x - m) r, dnorm = dout * weight, and the row's share of
// dweight (and dbias). Every pointer is distinct: restrict lets the loop vectorise.
void ln_row_terms(const float* __restrict x, const float* __restrict g, const float* __restrict w, float m, float r,
                  float* __restrict norm, float* __restrict dn, float* __restrict dw, float* __restrict db, int64_t C) {
  for (int64_t j = 0; j < C; ++j) {
    norm[j] = (x[j] - m) * r;
    dn[j] = g[j] * w[j];
    dw[j] += g[j] * norm[j];
  }
  if (db)
    for (int64_t j = 0; j < C; ++j) db[j] += g[j];
}

}  // namespace

extern "C" lmt_status lmt_layernorm_forward(float* out, float* mean, float* rstd,
                                            const float* x, const float* weight,
                                            const float* bias, int64_t N, int64_t C,
                                            float eps) {
  LMT_CHECK(lmt::check_layernorm_forward(__func__, out, mean, rstd, x, weight, N, C, eps));
  if (N == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(N, std::max<int64_t>(1, 4096 / C), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* xi = x + i * C;  // (C)
      double m = lmt::sum(xi, C) / (double)C;
      // two passes over a cached row: no cancellation from E[x^2] - m^2
      double v = lmt::sum_sq_dev(xi, m, C);
      float r = (float)(1.0 / std::sqrt(v / (double)C + (double)eps));
      float mf = (float)m;
      float* oi = out + i * C;
      if (bias) {
        for (int64_t j = 0; j < C; ++j) oi[j] = (xi[j] - mf) * r * weight[j] + bias[j];
      } else {
        for (int64_t j = 0; j < C; ++j) oi[j] = (xi[j] - mf) * r * weight[j];
      }
      mean[i] = mf;
      rstd[i] = r;
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_layernorm_backward(float* dx, float* dweight, float* dbias,
                                             const float* dout, const float* x,
                                             const float* weight, const float* mean,
                                             const float* rstd, int64_t N, int64_t C) {
  LMT_CHECK(
      lmt::check_layernorm_backward(__func__, dx, dweight, dout, x, weight, mean, rstd, N, C));
  if (C == 0) return LMT_OK;
  if (N == 0) {  // no rows: the parameter gradients are zero
    std::fill(dweight, dweight + C, 0.0f);
    if (dbias) std::fill(dbias, dbias + C, 0.0f);
    return LMT_OK;
  }
  LMT_GUARD_BEGIN
  int64_t rows = param_block_rows(N), nblocks = (N + rows - 1) / rows;
  std::vector<float> dw_part((size_t)(nblocks * C)), db_part((size_t)(nblocks * C));
  lmt::parallel_for(nblocks, 1, [&](int64_t b0, int64_t b1) {
    // norm and dnorm of one row, so that every loop below is a plain vector loop and the
    // two row sums run in double SIMD lanes.
    std::vector<float> tmp((size_t)(2 * C));
    float* norm = tmp.data();
    float* dn = norm + C;
    for (int64_t blk = b0; blk < b1; ++blk) {
      float* dw = dw_part.data() + blk * C;  // (C) partial over this block's rows
      float* db = db_part.data() + blk * C;
      for (int64_t i = blk * rows; i < std::min(N, (blk + 1) * rows); ++i) {
        const float* xi = x + i * C;
        const float* gi = dout + i * C;
        float m = mean[i], r = rstd[i];
        // dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout*weight:
        // term 1 is the direct path, terms 2 and 3 flow through mean and rstd.
        ln_row_terms(xi, gi, weight, m, r, norm, dn, dw, db, C);
        float mdn = (float)(lmt::sum(dn, C) / (double)C), mdnn = (float)(lmt::dot(dn, norm, C) / (double)C);
        float* dxi = dx + i * C;
        for (int64_t j = 0; j < C; ++j) dxi[j] = r * (dn[j] - mdn - norm[j] * mdnn);
      }
    }
  });
  reduce_blocks(dweight, dw_part, nblocks, C);
  if (dbias) reduce_blocks(dbias, db_part, nblocks, C);
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_rmsnorm_forward(float* out, float* rstd, const float* x,
                                          const float* weight, int64_t N, int64_t C,
                                          float eps) {
  LMT_CHECK(lmt::check_rmsnorm_forward(__func__, out, rstd, x, weight, N, C, eps));
  if (N == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(N, std::max<int64_t>(1, 4096 / C), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* xi = x + i * C;  // (C)
      double ss = lmt::dot(xi, xi, C);
      float r = (float)(1.0 / std::sqrt(ss / (double)C + (double)eps));
      float* oi = out + i * C;
      for (int64_t j = 0; j < C; ++j) oi[j] = xi[j] * r * weight[j];
      rstd[i] = r;
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_rmsnorm_backward(float* dx, float* dweight, const float* dout,
                                           const float* x, const float* weight,
                                           const float* rstd, int64_t N, int64_t C) {
  LMT_CHECK(lmt::check_rmsnorm_backward(__func__, dx, dweight, dout, x, weight, rstd, N, C));
  if (C == 0) return LMT_OK;
  if (N == 0) {
    std::fill(dweight, dweight + C, 0.0f);
    return LMT_OK;
  }
  LMT_GUARD_BEGIN
  int64_t rows = param_block_rows(N), nblocks = (N + rows - 1) / rows;
  std::vector<float> dw_part((size_t)(nblocks * C));
  lmt::parallel_for(nblocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> tmp((size_t)(2 * C));
    float* norm = tmp.data();
    float* dn = norm + C;
    for (int64_t blk = b0; blk < b1; ++blk) {
      float* dw = dw_part.data() + blk * C;  // (C)
      for (int64_t i = blk * rows; i < std::min(N, (blk + 1) * rows); ++i) {
        const float* xi = x + i * C;
        const float* gi = dout + i * C;
        float r = rstd[i];
        // No mean is subtracted, so only the rstd path adds a term: dx = rstd * (dnorm -
        // norm * mean(dnorm * norm)).
        ln_row_terms(xi, gi, weight, 0.0f, r, norm, dn, dw, nullptr, C);
        float mdnn = (float)(lmt::dot(dn, norm, C) / (double)C);
        float* dxi = dx + i * C;
        for (int64_t j = 0; j < C; ++j) dxi[j] = r * (dn[j] - norm[j] * mdnn);
      }
    }
  });
  reduce_blocks(dweight, dw_part, nblocks, C);
  return LMT_OK;
  LMT_GUARD_END
}
