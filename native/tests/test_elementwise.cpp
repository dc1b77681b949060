// Unary ops (+ affine epilogue) and their derivatives, broadcasting binary ops and where,
// against the double reference; the reference derivatives against central differences.
#include <cstring>

#include "ops_a.h"
#include "test_util.h"

using Shape = std::vector<int64_t>;

static const char* kUnName[] = {"neg", "exp", "log", "tanh", "sqrt", "rsqrt",
                                "relu", "sigmoid", "abs", "square", "reciprocal"};
static const char* kBinName[] = {"add", "sub", "mul", "div", "max", "min", "pow"};

static bool positive_domain(int op) {
  return op == LMT_UN_LOG || op == LMT_UN_SQRT || op == LMT_UN_RSQRT || op == LMT_UN_RECIPROCAL;
}
static bool y_suffices(int op) {
  return op == LMT_UN_NEG || op == LMT_UN_EXP || op == LMT_UN_TANH || op == LMT_UN_SQRT ||
         op == LMT_UN_RSQRT || op == LMT_UN_SIGMOID || op == LMT_UN_RECIPROCAL;
}

struct Case {
  const char* name;
  Shape shape, as, bs;
  int64_t a_numel, b_numel;
};

int main() {
  lt::seed();
  lmt_set_num_threads(2);

  // ---- unary forward / backward ----
  // Errors are normalised over the concatenation of all sizes: a 1-element case whose only
  // value is ~0 (tanh' at x = 5, alpha*f + beta cancelling) would otherwise divide by ~0.
  for (int op = 0; op < LMT_UN_COUNT; ++op) {
    std::vector<float> gf, ga, gb, gby;
    std::vector<double> wf, wa, wb;
    double err_fd = 0;
    for (int64_t n : {1, 7, 1009, 100003}) {
      std::vector<float> x = positive_domain(op) ? lt::uniform(n, 0.1f, 5.0f) : lt::randn(n, 2.0f);
      std::vector<float> y(n), ya(n), dout = lt::randn(n), dx(n), dxy(n);
      lmt_unary(y.data(), x.data(), n, op, 1.0f, 0.0f);
      lmt_unary(ya.data(), x.data(), n, op, -0.75f, 1.25f);
      lmt_unary_backward(dx.data(), dout.data(), x.data(), nullptr, n, op);
      // derivative formed from y alone, where the op allows it
      if (y_suffices(op)) lmt_unary_backward(dxy.data(), dout.data(), nullptr, y.data(), n, op);
      auto rf = ref::unary(op, lt::to_double(x), 1, 0), ra = ref::unary(op, lt::to_double(x), -0.75, 1.25);
      auto rb = ref::unary_backward(op, lt::to_double(dout), lt::to_double(x));
      gf.insert(gf.end(), y.begin(), y.end()), wf.insert(wf.end(), rf.begin(), rf.end());
      ga.insert(ga.end(), ya.begin(), ya.end()), wa.insert(wa.end(), ra.begin(), ra.end());
      gb.insert(gb.end(), dx.begin(), dx.end()), wb.insert(wb.end(), rb.begin(), rb.end());
      gby.insert(gby.end(), dxy.begin(), dxy.end());
      // The reference derivative against central differences of the reference forward.
      if (n <= 1009) {
        std::vector<double> fd(n), an(n);
        for (int64_t i = 0; i < n; ++i) {
          double xi = x[i], h = 1e-6 * std::fmax(1.0, std::fabs(xi));
          if (op == LMT_UN_RELU || op == LMT_UN_ABS) {
            if (std::fabs(xi) < 2 * h) continue;  // kink at 0
          }
          fd[i] = (ref::unary_f(op, xi + h) - ref::unary_f(op, xi - h)) / (2 * h);
          an[i] = ref::unary_df(op, xi);
        }
        // Against max(1, max|f'|): a draw holding only large |x| has a tiny tanh'/sigmoid'
        // (3e-6 at |x| = 7) next to the difference quotient's rounding (eps |f| / h ~ 2e-11),
        // which a purely relative check would flag (it did: LMT_TEST_SEED=17155618000166).
        double scale = 1.0, diff = 0;
        for (int64_t i = 0; i < n; ++i) {
          scale = std::fmax(scale, std::fabs(an[i]));
          diff = std::fmax(diff, std::fabs(an[i] - fd[i]));
        }
        err_fd = std::fmax(err_fd, diff / scale);
      }
    }
    const double err_f = lt::max_err(gf, wf), err_a = lt::max_err(ga, wa), err_b = lt::max_err(gb, wb);
    const double err_by = lt::max_err(gby, wb);
    std::string nm = kUnName[op];
    lt::expect_close("unary " + nm + " forward", err_f, 1e-6);
    lt::expect_close("unary " + nm + " forward, alpha=-0.75 beta=1.25", err_a, 1e-6);
    lt::expect_close("unary_backward " + nm + " (from x)", err_b, 1e-5);
    if (y_suffices(op)) lt::expect_close("unary_backward " + nm + " (from y)", err_by, 1e-5);
    lt::expect_close("ref unary_df " + nm + " vs central differences", err_fd, 1e-6);
  }
  {
    // In place, and -0 survives the plain op.
    std::vector<float> x = {0.0f, 1.0f, -2.0f};
    lmt_unary(x.data(), x.data(), 3, LMT_UN_NEG, 1.0f, 0.0f);
    lt::expect("unary in place; neg(0) is -0", std::signbit(x[0]) && x[1] == -1.0f && x[2] == 2.0f);
    std::vector<float> s = {-200.0f, 200.0f}, o(2);
    lmt_unary(o.data(), s.data(), 2, LMT_UN_SIGMOID, 1.0f, 0.0f);
    lt::expect("sigmoid(+-200) saturates to 0 and 1 without NaN", o[0] == 0.0f && o[1] == 1.0f);
    float d[3], g[3] = {1, 1, 1};
    lt::expect_status("unary bad op", lmt_unary(o.data(), s.data(), 2, LMT_UN_COUNT, 1, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary op=-1", lmt_unary(o.data(), s.data(), 2, -1, 1, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary null x", lmt_unary(o.data(), nullptr, 2, LMT_UN_EXP, 1, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary n=-1", lmt_unary(o.data(), s.data(), -1, LMT_UN_EXP, 1, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary n=0 no-op", lmt_unary(nullptr, nullptr, 0, LMT_UN_EXP, 1, 0), LMT_OK);
    lt::expect_status("unary_backward abs needs x", lmt_unary_backward(d, g, nullptr, g, 3, LMT_UN_ABS), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary_backward exp with neither x nor y", lmt_unary_backward(d, g, nullptr, nullptr, 3, LMT_UN_EXP), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary_backward null dout", lmt_unary_backward(d, nullptr, g, g, 3, LMT_UN_EXP), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary_backward bad op", lmt_unary_backward(d, g, g, g, 3, 99), LMT_ERR_INVALID_ARG);
    lt::expect_status("unary_backward n=-3", lmt_unary_backward(d, g, g, g, -3, LMT_UN_EXP), LMT_ERR_INVALID_ARG);
  }

  // ---- binary ----
  const std::vector<Case> cases = {
      {"same shape (1009)", {1009}, {1}, {1}, 1009, 1009},
      {"same shape (13,257)", {13, 257}, {257, 1}, {257, 1}, 13 * 257, 13 * 257},
      {"(3,1,5) op (1,4,1)", {3, 4, 5}, {5, 0, 1}, {0, 1, 0}, 15, 4},
      {"scalar b (1009)", {1009}, {1}, {0}, 1009, 1},
      {"scalar a (7,13)", {7, 13}, {0, 0}, {13, 1}, 1, 91},
      {"0-d op 0-d", {}, {}, {}, 1, 1},
      {"bias row (257,13)+(13)", {257, 13}, {13, 1}, {0, 1}, 257 * 13, 13},
      {"bias row (4,97,1009)+(1009)", {4, 97, 1009}, {97 * 1009, 1009, 1}, {0, 0, 1}, 4 * 97 * 1009, 1009},
      {"column (1009,7)+(1009,1)", {1009, 7}, {7, 1}, {1, 0}, 1009 * 7, 1009},
      {"transposed a (13,7)", {13, 7}, {1, 13}, {7, 1}, 91, 91},
      {"empty (3,0)", {3, 0}, {0, 1}, {0, 1}, 1, 1},
  };
  for (int op = 0; op < LMT_BIN_COUNT; ++op) {
    double err = 0;
    for (const Case& c : cases) {
      int64_t n = 1;
      for (int64_t s : c.shape) n *= s;
      std::vector<float> a = op == LMT_BIN_POW ? lt::uniform(c.a_numel, 0.5f, 2.0f) : lt::randn(c.a_numel);
      std::vector<float> b = op == LMT_BIN_DIV ? lt::uniform(c.b_numel, 0.5f, 2.0f) : lt::randn(c.b_numel);
      std::vector<float> out(n, NAN);
      lmt_status st = lmt_binary(out.data(), a.data(), b.data(), (int)c.shape.size(), c.shape.data(),
                                 c.as.data(), c.bs.data(), op);
      if (st != LMT_OK) lt::expect_status(std::string("binary ") + kBinName[op] + " " + c.name, st, LMT_OK);
      double e = lt::max_err(out, ref::binary(op, lt::to_double(a), lt::to_double(b), c.shape, c.as, c.bs));
      if (e > 1e-6) std::printf("  binary %s %s: %.3e\n", kBinName[op], c.name, e);
      err = std::fmax(err, e);
    }
    lt::expect_close(std::string("binary ") + kBinName[op] + " over all broadcast cases", err, 1e-6);
  }
  {
    Shape sh = {4};
    Shape one = {1};
    std::vector<float> a = {NAN, 1.0f, 2.0f, -0.5f}, b = {1.0f, NAN, 1.0f, 3.0f}, o(4);
    lmt_binary(o.data(), a.data(), b.data(), 1, sh.data(), one.data(), one.data(), LMT_BIN_MAX);
    bool ok = std::isnan(o[0]) && std::isnan(o[1]) && o[2] == 2.0f && o[3] == 3.0f;
    lmt_binary(o.data(), a.data(), b.data(), 1, sh.data(), one.data(), one.data(), LMT_BIN_MIN);
    ok = ok && std::isnan(o[0]) && std::isnan(o[1]) && o[2] == 1.0f && o[3] == -0.5f;
    lt::expect("binary max/min propagate NaN from either side", ok);
    Shape bad = {-1}, big(9, 1);
    lt::expect_status("binary bad op", lmt_binary(o.data(), a.data(), b.data(), 1, sh.data(), one.data(), one.data(), LMT_BIN_COUNT), LMT_ERR_INVALID_ARG);
    lt::expect_status("binary ndim=9", lmt_binary(o.data(), a.data(), b.data(), 9, big.data(), big.data(), big.data(), LMT_BIN_ADD), LMT_ERR_INVALID_ARG);
    lt::expect_status("binary negative shape", lmt_binary(o.data(), a.data(), b.data(), 1, bad.data(), one.data(), one.data(), LMT_BIN_ADD), LMT_ERR_INVALID_ARG);
    lt::expect_status("binary null b", lmt_binary(o.data(), a.data(), nullptr, 1, sh.data(), one.data(), one.data(), LMT_BIN_ADD), LMT_ERR_INVALID_ARG);
    lt::expect_status("binary null a_strides", lmt_binary(o.data(), a.data(), b.data(), 1, sh.data(), nullptr, one.data(), LMT_BIN_ADD), LMT_ERR_INVALID_ARG);
  }

  // ---- where ----
  {
    struct W { const char* name; Shape shape, cs, as, bs; int64_t cn, an, bn; };
    std::vector<W> ws = {
        {"contiguous (100003)", {100003}, {1}, {1}, {1}, 100003, 100003, 100003},
        {"(3,1,5) ? (1,4,1) : (3,4,5)", {3, 4, 5}, {5, 0, 1}, {0, 1, 0}, {20, 5, 1}, 15, 4, 60},
        {"causal mask (13,13) ? x : scalar", {7, 13, 13}, {0, 13, 1}, {169, 13, 1}, {0, 0, 0}, 169, 7 * 169, 1},
    };
    for (const W& w : ws) {
      int64_t n = 1;
      for (int64_t s : w.shape) n *= s;
      std::vector<float> cond(w.cn);
      for (auto& c : cond) c = (float)(lt::rng()() % 2);
      std::vector<float> a = lt::randn(w.an), b = lt::randn(w.bn), out(n);
      lmt_where(out.data(), cond.data(), a.data(), b.data(), (int)w.shape.size(), w.shape.data(),
                w.cs.data(), w.as.data(), w.bs.data());
      auto want = ref::where(lt::to_double(cond), lt::to_double(a), lt::to_double(b), w.shape, w.cs, w.as, w.bs);
      lt::expect_close(std::string("where ") + w.name, lt::max_err(out, want), 0.0);
    }
    Shape sh = {2}, st = {1};
    float o[2], c[2] = {1, 0}, a[2] = {1, 2};
    lt::expect_status("where null cond", lmt_where(o, nullptr, a, a, 1, sh.data(), st.data(), st.data(), st.data()), LMT_ERR_INVALID_ARG);
    lt::expect_status("where ndim=9", lmt_where(o, c, a, a, 9, sh.data(), st.data(), st.data(), st.data()), LMT_ERR_INVALID_ARG);
    lt::expect_status("where null b_strides", lmt_where(o, c, a, a, 1, sh.data(), st.data(), st.data(), nullptr), LMT_ERR_INVALID_ARG);
  }
  return lt::finish();
}
