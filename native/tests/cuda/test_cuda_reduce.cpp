// CUDA reduce (SUM / MEAN in double, MAX with first-index argmax and NaN propagation) and its
// backward, and GELU forward/backward, against the CPU kernels on the same inputs.
#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

static const char* kName[] = {"sum", "mean", "max"};

static std::string S(int64_t n) { return std::to_string(n); }

struct Dims {
  int64_t outer, dim, inner;
};

static std::string dims_name(const Dims& s) {
  return "(" + S(s.outer) + "," + S(s.dim) + "," + S(s.inner) + ")";
}

// Inputs: kind 0 randn; kind 1 small integers (many ties, so the first index must win, with
// -0 and +0 mixed); kind 2 randn with NaNs scattered (the first NaN must win).
static std::vector<float> reduce_input(int64_t n, int kind) {
  if (kind == 0) return lt::randn(n);
  std::vector<float> x(n);
  if (kind == 1) {
    std::vector<int32_t> r = lt::randint(n, -3, 3);
    for (int64_t i = 0; i < n; ++i) x[i] = r[i] == 0 ? (i % 2 ? -0.0f : 0.0f) : (float)r[i];
    return x;
  }
  x = lt::randn(n);
  std::vector<int32_t> r = lt::randint(n, 0, 50);
  for (int64_t i = 0; i < n; ++i)
    if (r[i] == 0) x[i] = NAN;
  return x;
}

static void test_reduce() {
  const std::vector<Dims> shapes = {
      {1, 1, 1},      {7, 13, 1},     {1, 1009, 1},   {13, 7, 257},   {3, 1009, 5},
      {257, 3, 1},    {2, 100003, 1}, {5, 257, 1009}, {1000, 7, 13},  {0, 5, 3},
      {4, 5, 0},      {3, 1, 513},    {1, 1000003, 1}, {1000, 1000, 1}, {1, 1000, 1000},
      {100, 33, 1},   {64, 256, 1},   {17, 300, 1},   {1, 2, 1000003}, {1000003, 1, 1},
  };
  for (int op = 0; op < LMT_RED_COUNT; ++op) {
    for (int kind = 0; kind < (op == LMT_RED_MAX ? 3 : 1); ++kind) {
      double ef = 0;
      bool fwd_ok = true, arg_ok = true, bwd_ok = true, status_ok = true;
      std::string first_bad;
      for (const Dims& s : shapes) {
        const int64_t n = s.outer * s.dim * s.inner, m = s.outer * s.inner;
        if (ct::emulated() && (m > 1100 || n > 2100000)) continue;  // see ct::emulated()
        std::vector<float> x = reduce_input(n, kind), dout = lt::randn(m);
        std::vector<float> ref(m, 9e9f);
        std::vector<int32_t> ref_am(m, -7);
        lmt_status cst = lmt_reduce(ref.data(), ref_am.data(), x.data(), s.outer, s.dim, s.inner, op);
        ct::Dev<float> dx(x), dout_d(std::vector<float>(m, 9e9f));
        ct::Dev<int32_t> dam(std::vector<int32_t>(m, -7));
        lmt_status gst = lmt_cuda_reduce(dout_d.p, dam.p, dx.p, s.outer, s.dim, s.inner, op);
        if (gst != cst || gst != LMT_OK) {
          status_ok = false;
          lt::expect_status(std::string("cuda reduce ") + kName[op] + " " + dims_name(s), gst, cst);
          continue;
        }
        std::vector<float> got = dout_d.get();
        if (op == LMT_RED_MAX) {
          if (!ct::same(got, ref)) {
            fwd_ok = false;
            if (first_bad.empty()) first_bad = dims_name(s);
          }
          if (dam.get() != ref_am) {
            arg_ok = false;
            if (first_bad.empty()) first_bad = dims_name(s);
          }
        } else {
          ef = std::fmax(ef, lt::max_err(got, ref));
        }
        // Backward from the CPU's argmax: exact (copy, one division, or a select).
        std::vector<float> refb(n, 9e9f);
        lmt_reduce_backward(refb.data(), dout.data(), ref_am.data(), s.outer, s.dim, s.inner, op);
        ct::Dev<float> dg(dout), ddx(std::vector<float>(n, 9e9f));
        ct::Dev<int32_t> dref_am(ref_am);
        gst = lmt_cuda_reduce_backward(ddx.p, dg.p, dref_am.p, s.outer, s.dim, s.inner, op);
        if (gst != LMT_OK) {
          status_ok = false;
          lt::expect_status(std::string("cuda reduce_backward ") + kName[op] + " " + dims_name(s), gst, LMT_OK);
          continue;
        }
        if (!ct::same(ddx.get(), refb)) {
          bwd_ok = false;
          if (first_bad.empty()) first_bad = "bwd " + dims_name(s);
        }
      }
      const std::string tag = std::string(kName[op]) +
                              (kind == 1 ? " (ties, signed zeros)" : kind == 2 ? " (NaNs)" : "") +
                              ", all shapes" + (first_bad.empty() ? "" : "; first bad " + first_bad);
      lt::expect("cuda reduce " + tag + ": statuses OK", status_ok);
      if (op == LMT_RED_MAX) {
        lt::expect("cuda reduce " + tag + ": max bitwise == cpu", fwd_ok);
        lt::expect("cuda reduce " + tag + ": argmax == cpu (first index)", arg_ok);
      } else {
        lt::expect_close("cuda reduce " + tag + " vs cpu", ef, 1e-6);
      }
      lt::expect("cuda reduce_backward " + tag + " bitwise == cpu", bwd_ok);
    }
  }
  {
    // MAX without argmax is allowed.
    std::vector<float> x = lt::randn(3000);
    std::vector<float> ref(3);
    lmt_reduce(ref.data(), nullptr, x.data(), 3, 1000, 1, LMT_RED_MAX);
    ct::Dev<float> dx(x), dout(3);
    if (ct::ok("lmt_cuda_reduce", lmt_cuda_reduce(dout.p, nullptr, dx.p, 3, 1000, 1, LMT_RED_MAX)))
      lt::expect("cuda reduce max with null argmax == cpu", ct::same(dout.get(), ref));
  }
  {
    // A large sum with cancellation: the double accumulation keeps it essentially exact.
    const int64_t n = 1000003;
    std::vector<float> big(n);
    for (int64_t i = 0; i < n; ++i) big[i] = (i % 2 ? -1.0f : 1.0f) * (1e4f + (float)(i % 7));
    float ref = 0;
    lmt_reduce(&ref, nullptr, big.data(), 1, n, 1, LMT_RED_SUM);
    ct::Dev<float> dx(big), dout(1);
    if (ct::ok("lmt_cuda_reduce", lmt_cuda_reduce(dout.p, nullptr, dx.p, 1, n, 1, LMT_RED_SUM)))
      lt::expect_close("cuda reduce sum of 1e6 alternating 1e4s vs cpu", std::fabs(dout.get()[0] - ref) / 1e4, 1e-7);
  }
  {
    // Invalid arguments: same statuses as the CPU; a bad argmax leaves dx untouched.
    ct::Dev<float> d(16);
    float o[4], x[4] = {1, 2, 3, 4};
    lt::expect_status("cuda reduce dim=0 == cpu", lmt_cuda_reduce(d.p, nullptr, d.p, 1, 0, 1, LMT_RED_SUM),
                      lmt_reduce(o, nullptr, x, 1, 0, 1, LMT_RED_SUM));
    lt::expect_status("cuda reduce outer=-1 -> INVALID_ARG", lmt_cuda_reduce(d.p, nullptr, d.p, -1, 4, 1, LMT_RED_SUM),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda reduce bad op -> INVALID_ARG", lmt_cuda_reduce(d.p, nullptr, d.p, 1, 4, 1, LMT_RED_COUNT),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda reduce null x -> INVALID_ARG", lmt_cuda_reduce(d.p, nullptr, nullptr, 1, 4, 1, LMT_RED_SUM),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda reduce outer=0 -> OK", lmt_cuda_reduce(nullptr, nullptr, nullptr, 0, 4, 1, LMT_RED_SUM), LMT_OK);
    lt::expect_status("cuda reduce_backward max null argmax -> INVALID_ARG",
                      lmt_cuda_reduce_backward(d.p, d.p, nullptr, 4, 1, 1, LMT_RED_MAX), LMT_ERR_INVALID_ARG);
    std::vector<float> sentinel(16, 5.0f);
    ct::Dev<float> ddx(sentinel), dg(std::vector<float>(4, 1.0f));
    ct::Dev<int32_t> bad(std::vector<int32_t>{0, 1, 5, 0});
    lt::expect_status("cuda reduce_backward argmax out of range -> INDEX",
                      lmt_cuda_reduce_backward(ddx.p, dg.p, bad.p, 1, 4, 4, LMT_RED_MAX), LMT_ERR_INDEX);
    lt::expect("cuda reduce_backward with a bad argmax leaves dx untouched", ddx.get() == sentinel);
    ct::Dev<int32_t> neg(std::vector<int32_t>{0, -1, 2, 3});
    lt::expect_status("cuda reduce_backward argmax -1 -> INDEX",
                      lmt_cuda_reduce_backward(ddx.p, dg.p, neg.p, 1, 4, 4, LMT_RED_MAX), LMT_ERR_INDEX);
    // The flag was cleared: a good call right after succeeds.
    const std::vector<int32_t> am = {0, 1, 3, 2};
    ct::Dev<int32_t> good(am);
    lt::expect_status("cuda reduce_backward valid argmax after an INDEX error -> OK",
                      lmt_cuda_reduce_backward(ddx.p, dg.p, good.p, 1, 4, 4, LMT_RED_MAX), LMT_OK);
    std::vector<float> want(16, 0.0f);  // dx (1, 4, 4): element (d, j) is d * 4 + j
    for (int j = 0; j < 4; ++j) want[(size_t)(am[j] * 4 + j)] = 1.0f;
    lt::expect("cuda reduce_backward max routes dout to argmax", ddx.get() == want);
    lt::expect_status("cuda reduce_backward dim=-2 -> INVALID_ARG",
                      lmt_cuda_reduce_backward(d.p, d.p, nullptr, 1, -2, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
  }
}

static void test_gelu() {
  for (int64_t n : {(int64_t)1, (int64_t)257, (int64_t)1000, (int64_t)1000003}) {
    std::vector<float> x = lt::randn(n, 3.0f), g = lt::randn(n);
    const float edge[] = {0.0f, -0.0f, 100.0f, -100.0f, 10.0f, -10.0f, -5.0f, 1e-20f, INFINITY, -INFINITY};
    if (n >= 100)
      for (int k = 0; k < 10; ++k) x[(size_t)(k * 9 + 1)] = edge[k];
    std::vector<float> ref(n), refb(n);
    lmt_gelu_forward(ref.data(), x.data(), n);
    lmt_gelu_backward(refb.data(), g.data(), x.data(), n);
    ct::Dev<float> dx(x), dg(g), dout(std::vector<float>(n, 9e9f)), ddx(std::vector<float>(n, 9e9f));
    if (ct::ok("lmt_cuda_gelu_forward", lmt_cuda_gelu_forward(dout.p, dx.p, n)))
      lt::expect_close("cuda gelu_forward vs cpu, n=" + S(n), lt::max_err(dout.get(), ref), 1e-5);
    if (ct::ok("lmt_cuda_gelu_backward", lmt_cuda_gelu_backward(ddx.p, dg.p, dx.p, n)))
      lt::expect_close("cuda gelu_backward vs cpu, n=" + S(n), lt::max_err(ddx.get(), refb), 1e-5);
  }
  {
    // Negative inputs, where the result is tiny: relative error per element stays small (the
    // exp form does not cancel). Kept above -6 so that one ulp of the exp argument, which the
    // CPU's FMA-contracted AVX path may round differently, stays far below the tolerance.
    const int64_t n = 1000;
    std::vector<float> x = lt::uniform(n, -6.0f, -3.0f), ref(n);
    lmt_gelu_forward(ref.data(), x.data(), n);
    ct::Dev<float> dx(x), dout(n);
    if (ct::ok("lmt_cuda_gelu_forward", lmt_cuda_gelu_forward(dout.p, dx.p, n))) {
      std::vector<float> got = dout.get();
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        double e = std::fabs((double)got[i] - (double)ref[i]) / std::fmax(std::fabs((double)ref[i]), 1e-37);
        if (!(e <= worst)) worst = e;
      }
      lt::expect_close("cuda gelu_forward x in [-6,-3], per-element relative", worst, 1e-5);
    }
  }
  lt::expect_status("cuda gelu_forward n=-1 == cpu", lmt_cuda_gelu_forward(nullptr, nullptr, -1),
                    lmt_gelu_forward(nullptr, nullptr, -1));
  lt::expect_status("cuda gelu_forward n=-1 -> INVALID_ARG", lmt_cuda_gelu_forward(nullptr, nullptr, -1), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda gelu_backward null x -> INVALID_ARG", lmt_cuda_gelu_backward(nullptr, nullptr, nullptr, 3),
                    LMT_ERR_INVALID_ARG);
}

int main() {
  ct::require_device();
  lt::seed();
  test_reduce();
  test_gelu();
  lt::expect_status("cuda synchronize after all kernels", lmt_cuda_synchronize(), LMT_OK);
  return lt::finish();
}
