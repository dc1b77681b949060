// SUM / MEAN / MAX over the middle axis of (outer, dim, inner) and their backward, against
// the double reference; backward also against central differences; thread independence.
#include <cstring>

#include "ops_a.h"
#include "test_util.h"

static const char* kName[] = {"sum", "mean", "max"};

template <class T>
static bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

int main() {
  lt::seed();
  struct S { int64_t outer, dim, inner; };
  const std::vector<S> shapes = {{1, 1, 1},    {7, 13, 1},     {1, 1009, 1}, {13, 7, 257},
                                 {3, 1009, 5}, {257, 3, 1},    {2, 100003, 1}, {5, 257, 1009},
                                 {1000, 7, 13}, {0, 5, 3},     {4, 5, 0},    {3, 1, 513}};
  for (int op = 0; op < LMT_RED_COUNT; ++op) {
    double ef = 0, eb = 0;
    bool arg_ok = true, det = true;
    for (const S& s : shapes) {
      const int64_t n = s.outer * s.dim * s.inner, m = s.outer * s.inner;
      std::vector<float> x = lt::randn(n), out1(m), out2(m), dout = lt::randn(m);
      std::vector<int32_t> am1(m, -1), am2(m, -1);
      lmt_set_num_threads(1);
      lmt_status st = lmt_reduce(out1.data(), am1.data(), x.data(), s.outer, s.dim, s.inner, op);
      if (st != LMT_OK) lt::expect_status(std::string("reduce ") + kName[op], st, LMT_OK);
      lmt_set_num_threads(2);
      lmt_reduce(out2.data(), am2.data(), x.data(), s.outer, s.dim, s.inner, op);
      det = det && same_bits(out1, out2) && same_bits(am1, am2);
      std::vector<int32_t> want_am;
      auto want = ref::reduce(op, lt::to_double(x), s.outer, s.dim, s.inner, &want_am);
      double e = lt::max_err(out2, want);
      ef = std::fmax(ef, e);
      if (op == LMT_RED_MAX) arg_ok = arg_ok && am2 == want_am;
      std::vector<float> dx1(n, NAN), dx2(n, NAN);
      lmt_set_num_threads(1);
      lmt_reduce_backward(dx1.data(), dout.data(), am2.data(), s.outer, s.dim, s.inner, op);
      lmt_set_num_threads(2);
      lmt_reduce_backward(dx2.data(), dout.data(), am2.data(), s.outer, s.dim, s.inner, op);
      det = det && same_bits(dx1, dx2);
      eb = std::fmax(eb, lt::max_err(dx2, ref::reduce_backward(op, lt::to_double(dout), want_am, s.outer, s.dim, s.inner)));
    }
    lt::expect_close(std::string("reduce ") + kName[op] + " forward, all shapes", ef, 1e-6);
    lt::expect_close(std::string("reduce_backward ") + kName[op] + ", all shapes", eb, 1e-6);
    if (op == LMT_RED_MAX) lt::expect("reduce max argmax == reference (first index)", arg_ok);
    lt::expect(std::string("reduce ") + kName[op] + " fwd+bwd 1 vs 2 threads bitwise", det);
  }
  {
    // Ties: the first index of the maximum wins.
    std::vector<float> x = {1, 3, 3, 2, 3, 0};
    std::vector<float> o(1);
    std::vector<int32_t> a(1);
    lmt_reduce(o.data(), a.data(), x.data(), 1, 6, 1, LMT_RED_MAX);
    lt::expect("reduce max ties -> first index", a[0] == 1 && o[0] == 3.0f);
    // NaN propagates.
    x[3] = NAN;
    lmt_reduce(o.data(), a.data(), x.data(), 1, 6, 1, LMT_RED_MAX);
    lt::expect("reduce max propagates NaN", std::isnan(o[0]) && a[0] == 3);
    // A large sum with cancellation: double accumulation keeps it exact-ish.
    const int64_t n = 1000003;
    std::vector<float> big(n);
    for (int64_t i = 0; i < n; ++i) big[i] = (i % 2 ? -1.0f : 1.0f) * (1e4f + (float)(i % 7));
    lmt_reduce(o.data(), nullptr, big.data(), 1, n, 1, LMT_RED_SUM);
    auto want = ref::reduce(LMT_RED_SUM, lt::to_double(big), 1, n, 1, nullptr);
    lt::expect_close("reduce sum of 1e6 alternating 1e4s vs double", std::fabs(o[0] - want[0]) / 1e4, 1e-7);
  }
  {
    // Reference backward vs central differences of the reference forward: L = sum(w * reduce(x)).
    const int64_t outer = 3, dim = 7, inner = 5;
    std::vector<double> x = lt::to_double(lt::randn(outer * dim * inner));
    std::vector<double> w = lt::to_double(lt::randn(outer * inner));
    for (int op = 0; op < LMT_RED_COUNT; ++op) {
      std::vector<int32_t> am;
      ref::reduce(op, x, outer, dim, inner, &am);
      auto an = ref::reduce_backward(op, w, am, outer, dim, inner);
      std::vector<double> fd(x.size());
      auto loss = [&](const std::vector<double>& xx) {
        auto y = ref::reduce(op, xx, outer, dim, inner, nullptr);
        double l = 0;
        for (size_t i = 0; i < y.size(); ++i) l += w[i] * y[i];
        return l;
      };
      for (size_t i = 0; i < x.size(); ++i) {
        std::vector<double> xp = x, xm = x;
        xp[i] += 1e-6;
        xm[i] -= 1e-6;
        fd[i] = (loss(xp) - loss(xm)) / 2e-6;
      }
      lt::expect_close(std::string("ref reduce_backward ") + kName[op] + " vs central differences", lt::max_err(an, fd), 1e-6);
    }
  }
  {
    float o[4], x[4] = {1, 2, 3, 4};
    int32_t a[4] = {0, 1, 5, 0};
    lt::expect_status("reduce dim=0", lmt_reduce(o, nullptr, x, 1, 0, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce outer=-1", lmt_reduce(o, nullptr, x, -1, 4, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce inner=-1", lmt_reduce(o, nullptr, x, 1, 4, -1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce bad op", lmt_reduce(o, nullptr, x, 1, 4, 1, LMT_RED_COUNT), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce null x", lmt_reduce(o, nullptr, nullptr, 1, 4, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce null out", lmt_reduce(nullptr, nullptr, x, 1, 4, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce max without argmax is allowed", lmt_reduce(o, nullptr, x, 1, 4, 1, LMT_RED_MAX), LMT_OK);
    lt::expect_status("reduce_backward max null argmax", lmt_reduce_backward(o, x, nullptr, 4, 1, 1, LMT_RED_MAX), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce_backward argmax out of range", lmt_reduce_backward(x, o, a, 1, 4, 4, LMT_RED_MAX), LMT_ERR_INDEX);
    lt::expect_status("reduce_backward bad op", lmt_reduce_backward(o, x, a, 1, 4, 1, 7), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce_backward null dout", lmt_reduce_backward(o, nullptr, a, 1, 4, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
    lt::expect_status("reduce_backward dim=-2", lmt_reduce_backward(o, x, a, 1, -2, 1, LMT_RED_SUM), LMT_ERR_INVALID_ARG);
  }
  return lt::finish();
}
