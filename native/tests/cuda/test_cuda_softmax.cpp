// CUDA softmax / log-softmax against the CPU kernel on the same inputs: plain rows of many
// widths, causal and key-padding masks (with fully masked rows), a random additive bias with
// -inf entries, large logits; backward from the same y; argument validation.
#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace {

struct Case {
  std::string name;
  int64_t rows, cols;
  std::vector<float> mask;  // empty: none
  int64_t mask_rows, mask_div;
  bool big;  // logits uniform in [-1e4, 1e4] instead of N(0, 3)
};

std::vector<float> causal(int64_t T) {
  std::vector<float> m((size_t)(T * T));
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) m[(size_t)(i * T + j)] = j <= i ? 0.0f : -INFINITY;
  return m;
}

bool no_nan(const std::vector<float>& v) {
  for (float x : v)
    if (x != x) return false;
  return true;
}

}  // namespace

int main() {
  ct::require_device();
  lt::seed();
  std::vector<Case> cases;
  for (auto rc : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 13}, {64, 1009}, {1000, 129}, {3, 100003}, {5, 4096}})
    cases.push_back({"(" + std::to_string(rc.first) + "," + std::to_string(rc.second) + ")", rc.first, rc.second, {}, 0, 0, false});
  cases.push_back({"large logits +-1e4 (37,1009)", 37, 1009, {}, 0, 0, true});
  {
    const int64_t B = 2, NH = 3, T = 13;
    cases.push_back({"causal (2,3,13,13)", B * NH * T, T, causal(T), T, 1, false});
  }
  {
    const int64_t T = 257;
    cases.push_back({"causal T=257, large logits", 2 * T, T, causal(T), T, 1, true});
  }
  {
    // Key padding (B,T) under (B,NH,T,T): batch 1 pads its last 3 keys, batch 2 is all
    // padding (every one of its rows is fully masked).
    const int64_t B = 3, NH = 2, T = 7;
    std::vector<float> m((size_t)(B * T), 0.0f);
    for (int64_t j = T - 3; j < T; ++j) m[(size_t)(1 * T + j)] = -INFINITY;
    for (int64_t j = 0; j < T; ++j) m[(size_t)(2 * T + j)] = -INFINITY;
    cases.push_back({"key padding (3,2,7,7), batch 2 fully masked", B * NH * T, T, m, B, NH * T, false});
  }
  {
    // Random finite bias with scattered -inf; mask row 3 fully masked.
    const int64_t mr = 5, C = 1009;
    std::vector<float> m = lt::randn((size_t)(mr * C));
    for (auto& v : m)
      if (lt::rng()() % 4 == 0) v = -INFINITY;
    for (int64_t j = 0; j < C; ++j) m[(size_t)(3 * C + j)] = -INFINITY;
    cases.push_back({"random bias + -inf (200,1009), mask (5,1009) div 2", 200, C, m, mr, 2, false});
  }

  for (const Case& c : cases) {
    const int64_t n = c.rows * c.cols;
    const std::vector<float> x = c.big ? lt::uniform((size_t)n, -1e4f, 1e4f) : lt::randn((size_t)n, 3.0f);
    const std::vector<float> dy = lt::randn((size_t)n);
    const float* hmask = c.mask.empty() ? nullptr : c.mask.data();
    ct::Dev<float> dx_in(x), dmask(c.mask.empty() ? std::vector<float>(1) : c.mask), ddy(dy);
    const float* gmask = c.mask.empty() ? nullptr : dmask.p;
    for (int log = 0; log < 2; ++log) {
      const std::string tag = std::string(log ? "log_softmax " : "softmax ") + c.name;
      std::vector<float> y((size_t)n), g((size_t)n);
      ct::ok("cpu forward", lmt_softmax_forward(y.data(), x.data(), hmask, c.rows, c.cols, c.mask_rows, c.mask_div, log));
      ct::ok("cpu backward", lmt_softmax_backward(g.data(), dy.data(), y.data(), c.rows, c.cols, log));

      ct::Dev<float> dy_out((size_t)n), dg((size_t)n), dg_own((size_t)n), dy_cpu(y);
      ct::ok("cuda forward", lmt_cuda_softmax_forward(dy_out.p, dx_in.p, gmask, c.rows, c.cols, c.mask_rows, c.mask_div, log));
      // Backward from the CPU's y (isolates the backward) and from the kernel's own y.
      ct::ok("cuda backward", lmt_cuda_softmax_backward(dg.p, ddy.p, dy_cpu.p, c.rows, c.cols, log));
      ct::ok("cuda backward (own y)", lmt_cuda_softmax_backward(dg_own.p, ddy.p, dy_out.p, c.rows, c.cols, log));
      const std::vector<float> yc = dy_out.get(), gc = dg.get(), gown = dg_own.get();
      lt::expect_close(tag + " forward", lt::max_err(yc, y), 1e-5);
      lt::expect_close(tag + " backward", lt::max_err(gc, g), 1e-5);
      lt::expect(tag + " no NaN", no_nan(yc) && no_nan(gc) && no_nan(gown));
      if (hmask) {
        bool zeros = true;
        int64_t masked = 0;
        for (int64_t r = 0; r < c.rows; ++r) {
          const float* mr = hmask + ((r / c.mask_div) % c.mask_rows) * c.cols;
          bool all = true;
          for (int64_t j = 0; j < c.cols; ++j) all = all && mr[j] == -INFINITY;
          if (!all) continue;
          ++masked;
          for (int64_t j = 0; j < c.cols; ++j) {
            const size_t k = (size_t)(r * c.cols + j);
            zeros = zeros && yc[k] == 0.0f && gc[k] == 0.0f && gown[k] == 0.0f;
          }
        }
        if (masked)
          lt::expect(tag + ": " + std::to_string(masked) + " fully masked rows give 0 and 0 grad", zeros);
      }
    }
  }

  {
    // In place (out == x), as the CPU kernel allows.
    const int64_t R = 9, C = 300;
    std::vector<float> x = lt::randn((size_t)(R * C), 2.0f), y((size_t)(R * C));
    lmt_softmax_forward(y.data(), x.data(), nullptr, R, C, 0, 0, 0);
    ct::Dev<float> d(x);
    ct::ok("cuda softmax in place", lmt_cuda_softmax_forward(d.p, d.p, nullptr, R, C, 0, 0, 0));
    lt::expect_close("softmax in place (out == x)", lt::max_err(d.get(), y), 1e-5);
  }

  {
    ct::Dev<float> o(4), x(std::vector<float>{0, 1, 2, 3}), m(std::vector<float>{0, 0});
    lt::expect_status("cuda softmax rows=-1", lmt_cuda_softmax_forward(o.p, x.p, nullptr, -1, 2, 0, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax cols=-1", lmt_cuda_softmax_forward(o.p, x.p, nullptr, 2, -1, 0, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax log=2", lmt_cuda_softmax_forward(o.p, x.p, nullptr, 2, 2, 0, 0, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax null x", lmt_cuda_softmax_forward(o.p, nullptr, nullptr, 2, 2, 0, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax mask_rows=0", lmt_cuda_softmax_forward(o.p, x.p, m.p, 2, 2, 0, 1, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax mask_div=0", lmt_cuda_softmax_forward(o.p, x.p, m.p, 2, 2, 1, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax rows=0 no-op", lmt_cuda_softmax_forward(nullptr, nullptr, nullptr, 0, 5, 0, 0, 0), LMT_OK);
    lt::expect_status("cuda softmax_backward null y", lmt_cuda_softmax_backward(o.p, x.p, nullptr, 2, 2, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax_backward log=-1", lmt_cuda_softmax_backward(o.p, x.p, x.p, 2, 2, -1), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda softmax_backward rows=-3", lmt_cuda_softmax_backward(o.p, x.p, x.p, -3, 2, 0), LMT_ERR_INVALID_ARG);
  }
  ct::ok("synchronize", lmt_cuda_synchronize());
  return lt::finish();
}
