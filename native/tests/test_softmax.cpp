// Softmax / log-softmax with additive masks (causal, key padding, -inf, fully masked rows)
// and large logits, against the double reference; reference backward against central
// differences; thread independence.
#include <cstring>

#include "ops_a.h"
#include "test_util.h"

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}
static bool finite(const std::vector<float>& v) {
  for (float x : v)
    if (std::isnan(x)) return false;
  return true;
}

struct Case {
  std::string name;
  int64_t rows, cols;
  std::vector<float> mask;  // empty: none
  int64_t mask_rows, mask_div;
  float scale;      // logits ~ N(0, scale)
  bool big = false; // logits uniform in [-1e4, 1e4]
};

static std::vector<float> causal(int64_t T) {
  std::vector<float> m(T * T);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) m[i * T + j] = j <= i ? 0.0f : -INFINITY;
  return m;
}

int main() {
  lt::seed();
  std::vector<Case> cases;
  for (auto rc : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 13}, {13, 257}, {64, 1009}, {1000, 129}, {3, 100003}})
    cases.push_back({"(" + std::to_string(rc.first) + "," + std::to_string(rc.second) + ")", rc.first, rc.second, {}, 0, 0, 3.0f});
  cases.push_back({"large logits +-1e4 (37,1009)", 37, 1009, {}, 0, 0, 0, true});
  {
    const int64_t B = 2, NH = 3, T = 13;
    cases.push_back({"causal (B,NH,T,T) T=13", B * NH * T, T, causal(T), T, 1, 3.0f});
  }
  {
    // Key padding (B,T) under (B,NH,T,T): batch 1 pads its last 3 keys, batch 2 is all padding
    // (every one of its rows is fully masked).
    const int64_t B = 3, NH = 2, T = 7;
    std::vector<float> m(B * T, 0.0f);
    for (int64_t j = T - 3; j < T; ++j) m[1 * T + j] = -INFINITY;
    for (int64_t j = 0; j < T; ++j) m[2 * T + j] = -INFINITY;
    cases.push_back({"key padding (3,2,7,7), batch 2 fully masked", B * NH * T, T, m, B, NH * T, 3.0f});
  }
  {
    // A finite additive bias with scattered -inf and a few fully masked rows, 1009 wide.
    const int64_t mr = 5, C = 1009;
    std::vector<float> m = lt::randn(mr * C);
    for (auto& v : m)
      if (lt::rng()() % 4 == 0) v = -INFINITY;
    for (int64_t j = 0; j < C; ++j) m[3 * C + j] = -INFINITY;
    cases.push_back({"random bias + -inf, (200,1009) mask (5,1009) div 2", 200, C, m, mr, 2, 3.0f});
  }
  {
    // Large logits under a causal mask.
    const int64_t T = 257;
    cases.push_back({"large logits +-1e4 causal T=257", 2 * T, T, causal(T), T, 1, 0, true});
  }

  double worst_f[2] = {0, 0}, worst_b[2] = {0, 0};
  for (const Case& c : cases) {
    const int64_t n = c.rows * c.cols;
    std::vector<float> x = c.big ? lt::uniform(n, -1e4f, 1e4f) : lt::randn(n, c.scale);
    const float* mask = c.mask.empty() ? nullptr : c.mask.data();
    for (int log = 0; log < 2; ++log) {
      const std::string tag = std::string(log ? "log_softmax " : "softmax ") + c.name;
      std::vector<float> y1(n), y2(n), dy = lt::randn(n), dx1(n), dx2(n);
      lmt_set_num_threads(1);
      lmt_status st = lmt_softmax_forward(y1.data(), x.data(), mask, c.rows, c.cols, c.mask_rows, c.mask_div, log);
      lmt_softmax_backward(dx1.data(), dy.data(), y1.data(), c.rows, c.cols, log);
      lmt_set_num_threads(2);
      lmt_softmax_forward(y2.data(), x.data(), mask, c.rows, c.cols, c.mask_rows, c.mask_div, log);
      lmt_softmax_backward(dx2.data(), dy.data(), y2.data(), c.rows, c.cols, log);
      if (st != LMT_OK) lt::expect_status(tag, st, LMT_OK);
      auto want = ref::softmax_forward(lt::to_double(x), lt::to_double(c.mask), c.rows, c.cols, c.mask_rows, c.mask_div, log);
      double ef = lt::max_err(y2, want);
      // Backward from the kernel's own y, so the comparison isolates the backward.
      double eb = lt::max_err(dx2, ref::softmax_backward(lt::to_double(dy), lt::to_double(y2), c.rows, c.cols, log));
      lt::expect_close(tag + " forward", ef, 1e-5);
      lt::expect_close(tag + " backward", eb, 1e-4);
      lt::expect(tag + " 1 vs 2 threads bitwise", same_bits(y1, y2) && same_bits(dx1, dx2));
      lt::expect(tag + " no NaN", finite(y2) && finite(dx2));
      worst_f[log] = std::fmax(worst_f[log], ef);
      worst_b[log] = std::fmax(worst_b[log], eb);
      if (mask) {
        // Rows whose every mask entry is -inf: exactly zero output and zero gradient.
        bool zeros = true;
        int64_t masked_rows = 0;
        for (int64_t r = 0; r < c.rows; ++r) {
          const float* mr = mask + ((r / c.mask_div) % c.mask_rows) * c.cols;
          bool all = true;
          for (int64_t j = 0; j < c.cols; ++j) all = all && mr[j] == -INFINITY;
          if (!all) continue;
          ++masked_rows;
          for (int64_t j = 0; j < c.cols; ++j) zeros = zeros && y2[r * c.cols + j] == 0.0f && dx2[r * c.cols + j] == 0.0f;
        }
        if (masked_rows) lt::expect(tag + ": " + std::to_string(masked_rows) + " fully masked rows give 0 and 0 grad", zeros);
      }
    }
  }
  std::printf("worst: softmax fwd %.3e bwd %.3e; log_softmax fwd %.3e bwd %.3e\n", worst_f[0], worst_b[0], worst_f[1], worst_b[1]);

  {
    // Reference backward vs central differences of the reference forward:
    // L = sum(w * softmax(x + mask)), w = 0 where masked (log-softmax is -inf there).
    const int64_t R = 5, C = 11;
    std::vector<double> x = lt::to_double(lt::randn(R * C, 2.0f));
    std::vector<double> m(R * C, 0.0);
    for (int64_t j = 6; j < C; ++j) m[2 * C + j] = -INFINITY;
    for (int64_t j = 0; j < C; ++j) m[4 * C + j] = -INFINITY;
    std::vector<double> w = lt::to_double(lt::randn(R * C));
    for (size_t i = 0; i < w.size(); ++i)
      if (m[i] == -INFINITY) w[i] = 0;
    for (int log = 0; log < 2; ++log) {
      auto loss = [&](const std::vector<double>& xx) {
        auto y = ref::softmax_forward(xx, m, R, C, R, 1, log);
        double l = 0;
        for (size_t i = 0; i < y.size(); ++i)
          if (w[i] != 0) l += w[i] * y[i];
        return l;
      };
      auto y = ref::softmax_forward(x, m, R, C, R, 1, log);
      auto an = ref::softmax_backward(w, y, R, C, log);
      std::vector<double> fd(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        std::vector<double> xp = x, xm = x;
        xp[i] += 1e-6;
        xm[i] -= 1e-6;
        fd[i] = (loss(xp) - loss(xm)) / 2e-6;
      }
      lt::expect_close(std::string("ref ") + (log ? "log_softmax" : "softmax") + " backward vs central differences (masked rows incl.)", lt::max_err(an, fd), 1e-6);
    }
  }
  {
    float o[4], x[4] = {0, 1, 2, 3}, m[2] = {0, 0};
    lt::expect_status("softmax rows=-1", lmt_softmax_forward(o, x, nullptr, -1, 2, 0, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax cols=-1", lmt_softmax_forward(o, x, nullptr, 2, -1, 0, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax log=2", lmt_softmax_forward(o, x, nullptr, 2, 2, 0, 0, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax null x", lmt_softmax_forward(o, nullptr, nullptr, 2, 2, 0, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax mask_rows=0", lmt_softmax_forward(o, x, m, 2, 2, 0, 1, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax mask_div=0", lmt_softmax_forward(o, x, m, 2, 2, 1, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax rows=0 no-op", lmt_softmax_forward(nullptr, nullptr, nullptr, 0, 5, 0, 0, 0), LMT_OK);
    lt::expect_status("softmax_backward null y", lmt_softmax_backward(o, x, nullptr, 2, 2, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax_backward log=-1", lmt_softmax_backward(o, x, x, 2, 2, -1), LMT_ERR_INVALID_ARG);
    lt::expect_status("softmax_backward rows=-3", lmt_softmax_backward(o, x, x, -3, 2, 0), LMT_ERR_INVALID_ARG);
  }
  return lt::finish();
}
