// The vectorised exp (vmath.cpp) against double exp: every dispatch path (the one this CPU
// picks and the portable one), relative error per element, exact special values, sums, and
// tails of every length (the vector paths mask the last group).
#include <cmath>
#include <limits>

#include "core.h"
#include "test_util.h"

namespace {
double rel_err_exp(const std::vector<float>& y, const std::vector<float>& x, float sub) {
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double want = std::exp((double)(x[i] - sub));  // the argument is rounded to float first, as in the kernel
    if (want < 1.2e-38 || want > 3.0e38) continue;  // subnormal / overflow: checked separately
    e = std::fmax(e, std::fabs(y[i] - want) / want);
  }
  return e;
}
}  // namespace

int main() {
  lt::seed();
  using Fn = double (*)(float*, const float*, float, int64_t);
  const std::pair<const char*, Fn> paths[] = {{"dispatched", lmt::exp_sum}, {"portable", lmt::exp_sum_scalar}};
  for (auto [name, fn] : paths) {
    std::string p = name;
    double err = 0, serr = 0;
    for (int64_t n : {1, 2, 7, 15, 16, 17, 31, 255, 256, 257, 1000, 4099}) {
      std::vector<float> x = lt::uniform(n, -90.0f, 89.0f), y(n);
      float sub = (float)lt::uniform(1, -2.0f, 2.0f)[0];
      double s = fn(y.data(), x.data(), sub, n);
      err = std::fmax(err, rel_err_exp(y, x, sub));
      // Sum: against the double sum of the float outputs (the accumulation), and nothing stored with out = null.
      double ref = 0;
      for (float v : y) ref += v;
      // (a float lane sum of values near FLT_MAX may overflow: sums of such sizes are out of scope)
      if (ref > 0 && ref < 1e37) serr = std::fmax(serr, std::fabs(s - ref) / ref);
      double s2 = fn(nullptr, x.data(), sub, n);
      lt::expect(p + " sum without storing equals the stored sum, n=" + std::to_string(n), s2 == s || (std::isnan(s) && std::isnan(s2)));
      // In place (out == x).
      std::vector<float> z = x;
      fn(z.data(), z.data(), sub, n);
      lt::expect(p + " in place equals out of place, n=" + std::to_string(n), z == y);
    }
    lt::expect_close(p + " exp relative error over [-90, 89]", err, 3.0e-7);
    lt::expect_close(p + " sum relative error", serr, 1e-6);
    // Softmax-like rows: x - max in [-30, 0], long rows; the sum against a double reference.
    {
      std::vector<float> x = lt::uniform(50257, -30.0f, 0.0f);
      double want = 0;
      for (float v : x) want += std::exp((double)v);
      double got = fn(nullptr, x.data(), 0.0f, (int64_t)x.size());
      lt::expect_close(p + " 50257-long row sum vs double", std::fabs(got - want) / want, 1e-6);
    }
    // Special values: -inf and anything below -87.34 give exactly 0, +inf and above 88.73 give inf, NaN stays NaN.
    {
      const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> x = {-inf, -1000.0f, -87.5f, 0.0f, 88.8f, inf, nan, 1.0f, -1.0f, 88.7f, -87.3f}, y(x.size());
      fn(y.data(), x.data(), 0.0f, (int64_t)x.size());
      lt::expect(p + " exp(-inf) = 0", y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f);
      lt::expect(p + " exp(0) = 1", y[3] == 1.0f);
      lt::expect(p + " exp(88.8) = inf, exp(inf) = inf", std::isinf(y[4]) && y[4] > 0 && std::isinf(y[5]) && y[5] > 0);
      lt::expect(p + " exp(NaN) = NaN", std::isnan(y[6]));
      lt::expect(p + " exp(1), exp(-1)", std::fabs(y[7] - 2.718281828) < 3e-7 && std::fabs(y[8] - 0.3678794412) < 1e-7);
      lt::expect(p + " exp(88.7) finite, exp(-87.3) > 0", std::isfinite(y[9]) && y[9] > 3e38 && y[10] > 0.0f);
    }
  }
  // The dispatched and portable paths agree to an ulp or so on the same inputs.
  {
    std::vector<float> x = lt::uniform(10007, -80.0f, 80.0f), a(x.size()), b(x.size());
    lmt::exp_sum(a.data(), x.data(), 0.0f, (int64_t)x.size());
    lmt::exp_sum_scalar(b.data(), x.data(), 0.0f, (int64_t)x.size());
    double d = 0;
    for (size_t i = 0; i < x.size(); ++i) d = std::fmax(d, std::fabs(a[i] - b[i]) / b[i]);
    lt::expect_close("dispatched vs portable", d, 2.5e-7);
    lt::expect("exp1 matches the portable path", lmt::exp1(x[5]) == b[5]);
  }
  return lt::finish();
}
