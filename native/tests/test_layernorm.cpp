// LayerNorm and RMSNorm forward/backward against the double reference, backward against
// central finite differences of the reference forward, thread invariance of dweight/dbias,
// and argument errors.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ops_b.h"
#include "test_util.h"

namespace {

// L = sum(out * g) through the reference forward, in double.
double ln_loss(const ref::vec& x, const ref::vec& w, const ref::vec& bias, const ref::vec& g,
               int64_t N, int64_t C, double eps, bool rms) {
  ref::vec out, mean, rstd;
  if (rms) ref::rmsnorm_forward(out, rstd, x, w, N, C, eps);
  else ref::layernorm_forward(out, mean, rstd, x, w, bias, N, C, eps);
  double L = 0;
  for (size_t i = 0; i < out.size(); ++i) L += out[i] * g[i];
  return L;
}

// Central differences of ln_loss w.r.t. every element of `which` (x or w or bias).
ref::vec finite_diff(ref::vec& which, const ref::vec& x, const ref::vec& w, const ref::vec& bias,
                     const ref::vec& g, int64_t N, int64_t C, double eps, bool rms) {
  ref::vec grad(which.size());
  const double h = 1e-6;
  for (size_t i = 0; i < which.size(); ++i) {
    double keep = which[i];
    which[i] = keep + h;
    double lp = ln_loss(x, w, bias, g, N, C, eps, rms);
    which[i] = keep - h;
    double lm = ln_loss(x, w, bias, g, N, C, eps, rms);
    which[i] = keep;
    grad[i] = (lp - lm) / (2 * h);
  }
  return grad;
}

void layernorm_case(int64_t N, int64_t C, bool with_bias) {
  const float eps = 1e-5f;
  std::string tag = "(N=" + std::to_string(N) + ", C=" + std::to_string(C) + (with_bias ? "" : ", no bias") + ")";
  auto x = lt::randn(N * C, 2.0f);
  for (auto& v : x) v += 3.0f;  // a mean far from zero exercises the centring
  auto w = lt::randn(C), b = lt::randn(C), g = lt::randn(N * C);
  std::vector<float> out(N * C), mean(N), rstd(N);
  lmt_status s = lmt_layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                                       with_bias ? b.data() : nullptr, N, C, eps);
  ref::vec rout, rmean, rrstd;
  ref::vec bd = with_bias ? lt::to_double(b) : ref::vec();
  ref::layernorm_forward(rout, rmean, rrstd, lt::to_double(x), lt::to_double(w), bd, N, C, eps);
  lt::expect_close("layernorm_forward out " + tag, s == LMT_OK ? lt::max_err(out, rout) : INFINITY, 1e-5);
  lt::expect_close("layernorm_forward mean " + tag, lt::max_err(mean, rmean), 1e-5);
  lt::expect_close("layernorm_forward rstd " + tag, lt::max_err(rstd, rrstd), 1e-5);

  std::vector<float> dx(N * C), dw(C), db(C);
  s = lmt_layernorm_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, g.data(),
                             x.data(), w.data(), mean.data(), rstd.data(), N, C);
  ref::vec rdx, rdw, rdb;
  ref::layernorm_backward(rdx, rdw, rdb, lt::to_double(g), lt::to_double(x), lt::to_double(w),
                          rmean, rrstd, N, C);
  lt::expect_close("layernorm_backward dx " + tag, s == LMT_OK ? lt::max_err(dx, rdx) : INFINITY, 1e-4);
  lt::expect_close("layernorm_backward dweight " + tag, lt::max_err(dw, rdw), 1e-4);
  if (with_bias) lt::expect_close("layernorm_backward dbias " + tag, lt::max_err(db, rdb), 1e-4);
}

void rmsnorm_case(int64_t N, int64_t C) {
  const float eps = 1e-6f;
  std::string tag = "(N=" + std::to_string(N) + ", C=" + std::to_string(C) + ")";
  auto x = lt::randn(N * C, 2.0f), w = lt::randn(C), g = lt::randn(N * C);
  std::vector<float> out(N * C), rstd(N);
  lmt_status s = lmt_rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps);
  ref::vec rout, rrstd;
  ref::rmsnorm_forward(rout, rrstd, lt::to_double(x), lt::to_double(w), N, C, eps);
  lt::expect_close("rmsnorm_forward out " + tag, s == LMT_OK ? lt::max_err(out, rout) : INFINITY, 1e-5);
  lt::expect_close("rmsnorm_forward rstd " + tag, lt::max_err(rstd, rrstd), 1e-5);
  std::vector<float> dx(N * C), dw(C);
  s = lmt_rmsnorm_backward(dx.data(), dw.data(), g.data(), x.data(), w.data(), rstd.data(), N, C);
  ref::vec rdx, rdw;
  ref::rmsnorm_backward(rdx, rdw, lt::to_double(g), lt::to_double(x), lt::to_double(w), rrstd, N, C);
  lt::expect_close("rmsnorm_backward dx " + tag, s == LMT_OK ? lt::max_err(dx, rdx) : INFINITY, 1e-4);
  lt::expect_close("rmsnorm_backward dweight " + tag, lt::max_err(dw, rdw), 1e-4);
}

}  // namespace

int main() {
  lt::seed();
  lmt_set_num_threads(2);
  for (int64_t N : {1, 7, 67, 257})
    for (int64_t C : {1, 13, 131, 768}) layernorm_case(N, C, true);
  layernorm_case(130, 65, false);
  // C = 1 is left out: out = sign(x) * weight there, and dx is pure cancellation noise.
  for (int64_t N : {1, 7, 67, 257})
    for (int64_t C : {2, 13, 131, 768}) rmsnorm_case(N, C);

  // Finite differences of the double reference forward: checks the backward formulas (kernel
  // and reference) against the forward they claim to differentiate.
  for (bool rms : {false, true}) {
    const int64_t N = 5, C = 13;
    const double eps = 1e-5;
    ref::vec x = lt::to_double(lt::randn(N * C)), w = lt::to_double(lt::randn(C));
    ref::vec bias = rms ? ref::vec() : lt::to_double(lt::randn(C)), g = lt::to_double(lt::randn(N * C));
    ref::vec fdx = finite_diff(x, x, w, bias, g, N, C, eps, rms);
    ref::vec fdw = finite_diff(w, x, w, bias, g, N, C, eps, rms);
    std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf(bias.begin(), bias.end()),
        gf(g.begin(), g.end());
    std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
    if (rms) {
      lmt_rmsnorm_forward(out.data(), rstd.data(), xf.data(), wf.data(), N, C, (float)eps);
      lmt_rmsnorm_backward(dx.data(), dw.data(), gf.data(), xf.data(), wf.data(), rstd.data(), N, C);
    } else {
      lmt_layernorm_forward(out.data(), mean.data(), rstd.data(), xf.data(), wf.data(), bf.data(), N, C, (float)eps);
      lmt_layernorm_backward(dx.data(), dw.data(), db.data(), gf.data(), xf.data(), wf.data(), mean.data(), rstd.data(), N, C);
    }
    std::string name = rms ? "rmsnorm" : "layernorm";
    lt::expect_close(name + "_backward dx vs finite differences (5x13)", lt::max_err(dx, fdx), 1e-4);
    lt::expect_close(name + "_backward dweight vs finite differences (5x13)", lt::max_err(dw, fdw), 1e-4);
    if (!rms) {
      ref::vec fdb = finite_diff(bias, x, w, bias, g, N, C, eps, rms);
      lt::expect_close(name + "_backward dbias vs finite differences (5x13)", lt::max_err(db, fdb), 1e-4);
    }
  }

  // dweight/dbias are block-reduced in a fixed order: bitwise equal for 1 and 2 threads.
  {
    const int64_t N = 1031, C = 97;
    auto x = lt::randn(N * C), w = lt::randn(C), b = lt::randn(C), g = lt::randn(N * C);
    std::vector<float> out(N * C), mean(N), rstd(N);
    lmt_layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    std::vector<float> dx[2], dw[2], db[2], rdx[2], rdw[2];
    for (int t = 0; t < 2; ++t) {
      lmt_set_num_threads(t + 1);
      dx[t].resize(N * C); dw[t].resize(C); db[t].resize(C); rdx[t].resize(N * C); rdw[t].resize(C);
      lmt_layernorm_backward(dx[t].data(), dw[t].data(), db[t].data(), g.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
      lmt_rmsnorm_backward(rdx[t].data(), rdw[t].data(), g.data(), x.data(), w.data(), rstd.data(), N, C);
    }
    lt::expect("layernorm_backward: 1 and 2 threads bitwise equal", dx[0] == dx[1] && dw[0] == dw[1] && db[0] == db[1]);
    lt::expect("rmsnorm_backward: 1 and 2 threads bitwise equal", rdx[0] == rdx[1] && rdw[0] == rdw[1]);
  }

  float x[4] = {1, 2, 3, 4}, w[2] = {1, 1}, o[4], m[2], r[2];
  lt::expect_status("layernorm_forward null x", lmt_layernorm_forward(o, m, r, nullptr, w, nullptr, 2, 2, 1e-5f), LMT_ERR_INVALID_ARG);
  lt::expect_status("layernorm_forward negative N", lmt_layernorm_forward(o, m, r, x, w, nullptr, -1, 2, 1e-5f), LMT_ERR_INVALID_ARG);
  lt::expect_status("layernorm_forward negative eps", lmt_layernorm_forward(o, m, r, x, w, nullptr, 2, 2, -1.0f), LMT_ERR_INVALID_ARG);
  lt::expect_status("layernorm_forward N=0 is a no-op", lmt_layernorm_forward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 2, 1e-5f), LMT_OK);
  lt::expect_status("layernorm_backward null dweight", lmt_layernorm_backward(o, nullptr, nullptr, x, x, w, m, r, 2, 2), LMT_ERR_INVALID_ARG);
  lt::expect_status("layernorm_backward negative C", lmt_layernorm_backward(o, w, nullptr, x, x, w, m, r, 2, -2), LMT_ERR_INVALID_ARG);
  lt::expect_status("rmsnorm_forward null weight", lmt_rmsnorm_forward(o, r, x, nullptr, 2, 2, 1e-5f), LMT_ERR_INVALID_ARG);
  lt::expect_status("rmsnorm_backward null rstd", lmt_rmsnorm_backward(o, w, x, x, w, nullptr, 2, 2), LMT_ERR_INVALID_ARG);
  return lt::finish();
}
