// Naive double-precision references (see ops_b.h): plain loops, no blocking, no tricks.
#include "ops_b.h"

#include <cmath>

namespace ref {

void matmul(vec& c, const vec& a, const vec& b, int64_t batch, int64_t M, int64_t N, int64_t K,
            int trans_a, int trans_b, int64_t lda, int64_t ldb, int64_t ldc, int64_t sa,
            int64_t sb, int64_t sc, double alpha, double beta) {
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t p = 0; p < K; ++p) {
          double av = trans_a ? a[bi * sa + p * lda + i] : a[bi * sa + i * lda + p];
          double bv = trans_b ? b[bi * sb + j * ldb + p] : b[bi * sb + p * ldb + j];
          s += av * bv;
        }
        double& cv = c[bi * sc + i * ldc + j];
        cv = beta == 0 ? alpha * s : alpha * s + beta * cv;
      }
}

void layernorm_forward(vec& out, vec& mean, vec& rstd, const vec& x, const vec& weight,
                       const vec& bias, int64_t N, int64_t C, double eps) {
  out.assign(N * C, 0);
  mean.assign(N, 0);
  rstd.assign(N, 0);
  for (int64_t i = 0; i < N; ++i) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < C; ++j) m += x[i * C + j];
    m /= C;
    for (int64_t j = 0; j < C; ++j) v += (x[i * C + j] - m) * (x[i * C + j] - m);
    v /= C;
    double r = 1.0 / std::sqrt(v + eps);
    mean[i] = m;
    rstd[i] = r;
    for (int64_t j = 0; j < C; ++j)
      out[i * C + j] = (x[i * C + j] - m) * r * weight[j] + (bias.empty() ? 0.0 : bias[j]);
  }
}

void layernorm_backward(vec& dx, vec& dweight, vec& dbias, const vec& dout, const vec& x,
                        const vec& weight, const vec& mean, const vec& rstd, int64_t N,
                        int64_t C) {
  dx.assign(N * C, 0);
  dweight.assign(C, 0);
  dbias.assign(C, 0);
  for (int64_t i = 0; i < N; ++i) {
    // dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout * weight
    double mdn = 0, mdnn = 0;
    for (int64_t j = 0; j < C; ++j) {
      double norm = (x[i * C + j] - mean[i]) * rstd[i];
      double dn = dout[i * C + j] * weight[j];
      mdn += dn;
      mdnn += dn * norm;
      dweight[j] += dout[i * C + j] * norm;
      dbias[j] += dout[i * C + j];
    }
    mdn /= C;
    mdnn /= C;
    for (int64_t j = 0; j < C; ++j) {
      double norm = (x[i * C + j] - mean[i]) * rstd[i];
      dx[i * C + j] = rstd[i] * (dout[i * C + j] * weight[j] - mdn - norm * mdnn);
    }
  }
}

void rmsnorm_forward(vec& out, vec& rstd, const vec& x, const vec& weight, int64_t N, int64_t C,
                     double eps) {
  out.assign(N * C, 0);
  rstd.assign(N, 0);
  for (int64_t i = 0; i < N; ++i) {
    double ms = 0;
    for (int64_t j = 0; j < C; ++j) ms += x[i * C + j] * x[i * C + j];
    rstd[i] = 1.0 / std::sqrt(ms / C + eps);
    for (int64_t j = 0; j < C; ++j) out[i * C + j] = x[i * C + j] * rstd[i] * weight[j];
  }
}

void rmsnorm_backward(vec& dx, vec& dweight, const vec& dout, const vec& x, const vec& weight,
                      const vec& rstd, int64_t N, int64_t C) {
  dx.assign(N * C, 0);
  dweight.assign(C, 0);
  for (int64_t i = 0; i < N; ++i) {
    // dx = rstd * (dnorm - norm * mean(dnorm * norm)), norm = x * rstd
    double mdnn = 0;
    for (int64_t j = 0; j < C; ++j) {
      double norm = x[i * C + j] * rstd[i];
      mdnn += dout[i * C + j] * weight[j] * norm;
      dweight[j] += dout[i * C + j] * norm;
    }
    mdnn /= C;
    for (int64_t j = 0; j < C; ++j) {
      double norm = x[i * C + j] * rstd[i];
      dx[i * C + j] = rstd[i] * (dout[i * C + j] * weight[j] - norm * mdnn);
    }
  }
}

void embedding_forward(vec& out, const ivec& ids, const vec& weight, int64_t N, int64_t V,
                       int64_t C) {
  out.assign(N * C, 0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < C; ++j) out[i * C + j] = weight[ids[i] * C + j];
}

void embedding_backward(vec& dweight, const vec& dout, const ivec& ids, int64_t N, int64_t V,
                        int64_t C) {
  dweight.assign(V * C, 0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < C; ++j) dweight[ids[i] * C + j] += dout[i * C + j];
}

void gather(vec& out, const vec& x, const ivec& idx, int64_t outer, int64_t dim, int64_t inner,
            int64_t n_idx) {
  out.assign(outer * n_idx * inner, 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n_idx; ++k)
      for (int64_t j = 0; j < inner; ++j)
        out[(o * n_idx + k) * inner + j] = x[(o * dim + idx[k]) * inner + j];
}

void gather_backward(vec& dx, const vec& dout, const ivec& idx, int64_t outer, int64_t dim,
                     int64_t inner, int64_t n_idx) {
  dx.assign(outer * dim * inner, 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n_idx; ++k)
      for (int64_t j = 0; j < inner; ++j)
        dx[(o * dim + idx[k]) * inner + j] += dout[(o * n_idx + k) * inner + j];
}

static double row_lse(const double* x, int64_t V) {
  double m = -INFINITY, s = 0;
  for (int64_t j = 0; j < V; ++j) m = std::fmax(m, x[j]);
  for (int64_t j = 0; j < V; ++j) s += std::exp(x[j] - m);
  return m + std::log(s);
}

void cross_entropy_forward(vec& losses, vec& lse, const vec& logits, const ivec& targets,
                           int64_t N, int64_t V, int32_t ignore_index, double eps) {
  losses.assign(N, 0);
  lse.assign(N, 0);
  for (int64_t i = 0; i < N; ++i) {
    const double* x = &logits[i * V];
    lse[i] = row_lse(x, V);
    if (targets[i] == ignore_index) continue;
    double nll = lse[i] - x[targets[i]], mean_nlp = 0;
    for (int64_t j = 0; j < V; ++j) mean_nlp += lse[i] - x[j];
    mean_nlp /= V;
    losses[i] = (1 - eps) * nll + eps * mean_nlp;
  }
}

void cross_entropy_backward(vec& dlogits, const vec& dlosses, const vec& logits,
                            const ivec& targets, int64_t N, int64_t V, int32_t ignore_index,
                            double eps) {
  dlogits.assign(N * V, 0);
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] == ignore_index) continue;
    const double* x = &logits[i * V];
    double l = row_lse(x, V);
    for (int64_t j = 0; j < V; ++j) {
      double target_p = (1 - eps) * (j == targets[i] ? 1.0 : 0.0) + eps / V;
      dlogits[i * V + j] = dlosses[i] * (std::exp(x[j] - l) - target_p);
    }
  }
}

// Scores (Tq, Tk) for head (b, h), -inf where masked or hidden by causality.
static vec scores(const vec& q, const vec& k, const vec& bias, const vec& key_mask, int64_t b,
                  int64_t h, int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                  int64_t bias_B, int causal, double scale) {
  vec s(Tq * Tk);
  int64_t bh = b * NH + h;
  for (int64_t i = 0; i < Tq; ++i)
    for (int64_t j = 0; j < Tk; ++j) {
      double d = 0;
      for (int64_t e = 0; e < HS; ++e) d += q[(bh * Tq + i) * HS + e] * k[(bh * Tk + j) * HS + e];
      d *= scale;
      if (!bias.empty()) d += bias[(((bias_B == 1 ? 0 : b) * NH + h) * Tq + i) * Tk + j];
      if (!key_mask.empty()) d += key_mask[b * Tk + j];
      if (causal && j > i + (Tk - Tq)) d = -INFINITY;
      s[i * Tk + j] = d;
    }
  return s;
}

// Row softmax in place; a row with no finite score becomes zeros. Returns the lse per row.
static vec softmax_rows(vec& s, int64_t Tq, int64_t Tk) {
  vec lse(Tq);
  for (int64_t i = 0; i < Tq; ++i) {
    double m = -INFINITY;
    for (int64_t j = 0; j < Tk; ++j) m = std::fmax(m, s[i * Tk + j]);
    if (m == -INFINITY) {
      for (int64_t j = 0; j < Tk; ++j) s[i * Tk + j] = 0;
      lse[i] = -INFINITY;
      continue;
    }
    double z = 0;
    for (int64_t j = 0; j < Tk; ++j) z += std::exp(s[i * Tk + j] - m);
    for (int64_t j = 0; j < Tk; ++j) s[i * Tk + j] = std::exp(s[i * Tk + j] - m) / z;
    lse[i] = m + std::log(z);
  }
  return lse;
}

void attention_forward(vec& out, vec& lse, const vec& q, const vec& k, const vec& v,
                       const vec& bias, const vec& key_mask, int64_t B, int64_t NH, int64_t Tq,
                       int64_t Tk, int64_t HS, int64_t bias_B, int causal, double scale) {
  out.assign(B * NH * Tq * HS, 0);
  lse.assign(B * NH * Tq, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h) {
      int64_t bh = b * NH + h;
      vec p = scores(q, k, bias, key_mask, b, h, B, NH, Tq, Tk, HS, bias_B, causal, scale);
      vec l = softmax_rows(p, Tq, Tk);
      for (int64_t i = 0; i < Tq; ++i) {
        lse[bh * Tq + i] = l[i];
        for (int64_t e = 0; e < HS; ++e) {
          double o = 0;
          for (int64_t j = 0; j < Tk; ++j) o += p[i * Tk + j] * v[(bh * Tk + j) * HS + e];
          out[(bh * Tq + i) * HS + e] = o;
        }
      }
    }
}

void attention_backward(vec& dq, vec& dk, vec& dv, vec& dbias, const vec& dout, const vec& q,
                        const vec& k, const vec& v, const vec& bias, const vec& key_mask,
                        int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                        int64_t bias_B, int causal, double scale, bool want_dbias) {
  dq.assign(B * NH * Tq * HS, 0);
  dk.assign(B * NH * Tk * HS, 0);
  dv.assign(B * NH * Tk * HS, 0);
  dbias.assign(want_dbias ? bias_B * NH * Tq * Tk : 0, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h) {
      int64_t bh = b * NH + h;
      vec p = scores(q, k, bias, key_mask, b, h, B, NH, Tq, Tk, HS, bias_B, causal, scale);
      softmax_rows(p, Tq, Tk);
      for (int64_t i = 0; i < Tq; ++i) {
        // dP_ij = dout_i . v_j;  dS_ij = P_ij (dP_ij - sum_l P_il dP_il)
        vec dp(Tk);
        double rowsum = 0;
        for (int64_t j = 0; j < Tk; ++j) {
          double d = 0;
          for (int64_t e = 0; e < HS; ++e)
            d += dout[(bh * Tq + i) * HS + e] * v[(bh * Tk + j) * HS + e];
          dp[j] = d;
          rowsum += p[i * Tk + j] * d;
        }
        for (int64_t j = 0; j < Tk; ++j) {
          double pij = p[i * Tk + j];
          double ds = pij * (dp[j] - rowsum);
          if (want_dbias) dbias[(((bias_B == 1 ? 0 : b) * NH + h) * Tq + i) * Tk + j] += ds;
          for (int64_t e = 0; e < HS; ++e) {
            dv[(bh * Tk + j) * HS + e] += pij * dout[(bh * Tq + i) * HS + e];
            dq[(bh * Tq + i) * HS + e] += scale * ds * k[(bh * Tk + j) * HS + e];
            dk[(bh * Tk + j) * HS + e] += scale * ds * q[(bh * Tq + i) * HS + e];
          }
        }
      }
    }
}

}  // namespace ref
