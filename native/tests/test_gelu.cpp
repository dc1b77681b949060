// GELU (tanh approximation) forward/backward against the double reference; the reference
// derivative against central differences.
#include "ops_a.h"
#include "test_util.h"

int main() {
  lt::seed();
  lmt_set_num_threads(2);
  double ef = 0, eb = 0;
  for (int64_t n : {1, 7, 13, 1009, 100003}) {
    std::vector<float> x = lt::randn(n, 3.0f), dout = lt::randn(n), y(n), dx(n);
    if (n > 8) {  // saturated tails, zero, and the region where 1 + tanh(u) cancels
      x[0] = -50.0f; x[1] = 50.0f; x[2] = 0.0f; x[3] = -9.0f; x[4] = 9.0f; x[5] = -10.3f; x[6] = -5.0f;
    }
    lt::expect_status("gelu_forward n=" + std::to_string(n), lmt_gelu_forward(y.data(), x.data(), n), LMT_OK);
    lt::expect_status("gelu_backward n=" + std::to_string(n), lmt_gelu_backward(dx.data(), dout.data(), x.data(), n), LMT_OK);
    ef = std::fmax(ef, lt::max_err(y, ref::gelu_forward(lt::to_double(x))));
    eb = std::fmax(eb, lt::max_err(dx, ref::gelu_backward(lt::to_double(dout), lt::to_double(x))));
  }
  lt::expect_close("gelu_forward vs reference, all sizes", ef, 1e-5);
  lt::expect_close("gelu_backward vs reference, all sizes", eb, 1e-4);
  {
    // Element-wise relative accuracy on the negative tail, where values are tiny.
    std::vector<float> x, y, dx;
    for (float v = -10.0f; v <= 0.0f; v += 0.0625f) x.push_back(v);
    y.resize(x.size()), dx.resize(x.size());
    std::vector<float> ones(x.size(), 1.0f);
    lmt_gelu_forward(y.data(), x.data(), (int64_t)x.size());
    lmt_gelu_backward(dx.data(), ones.data(), x.data(), (int64_t)x.size());
    auto ry = ref::gelu_forward(lt::to_double(x)), rd = ref::gelu_backward(lt::to_double(ones), lt::to_double(x));
    double e1 = 0, e2 = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (ry[i] != 0) e1 = std::fmax(e1, std::fabs(y[i] - ry[i]) / std::fabs(ry[i]));
      if (rd[i] != 0) e2 = std::fmax(e2, std::fabs(dx[i] - rd[i]) / std::fabs(rd[i]));
    }
    lt::expect_close("gelu_forward per-element relative error on [-10, 0]", e1, 1e-5);
    lt::expect_close("gelu_backward per-element relative error on [-10, 0]", e2, 1e-4);
  }
  {
    std::vector<double> x = lt::to_double(lt::randn(1009, 3.0f)), ones(1009, 1.0), fd(1009);
    for (size_t i = 0; i < x.size(); ++i) {
      const double h = 1e-6;
      fd[i] = (ref::gelu_forward({x[i] + h})[0] - ref::gelu_forward({x[i] - h})[0]) / (2 * h);
    }
    lt::expect_close("ref gelu_backward vs central differences", lt::max_err(ref::gelu_backward(ones, x), fd), 1e-6);
    // The reference's sigmoid form is the GPT-2 tanh formula, where tanh is accurate.
    std::vector<double> tanh_form(x.size());
    const double k = std::sqrt(2.0 / M_PI);
    for (size_t i = 0; i < x.size(); ++i)
      tanh_form[i] = 0.5 * x[i] * (1.0 + std::tanh(k * (x[i] + 0.044715 * x[i] * x[i] * x[i])));
    lt::expect_close("ref gelu (sigmoid form) vs 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))", lt::max_err(ref::gelu_forward(x), tanh_form), 1e-14);
  }
  {
    float o[2], x[2] = {1, 2};
    lt::expect_status("gelu_forward null x", lmt_gelu_forward(o, nullptr, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("gelu_forward n=-1", lmt_gelu_forward(o, x, -1), LMT_ERR_INVALID_ARG);
    lt::expect_status("gelu_forward n=0 no-op", lmt_gelu_forward(nullptr, nullptr, 0), LMT_OK);
    lt::expect_status("gelu_backward null dout", lmt_gelu_backward(o, nullptr, x, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("gelu_backward null dx", lmt_gelu_backward(nullptr, x, x, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("gelu_backward n=-4", lmt_gelu_backward(o, x, x, -4), LMT_ERR_INVALID_ARG);
  }
  return lt::finish();
}
