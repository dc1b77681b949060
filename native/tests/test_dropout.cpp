// Dropout: keep rate, mask regeneration (forward and backward agree), seed/offset behaviour
// and thread independence, against the reference (which has its own Philox).
#include <cstring>

#include "ops_a.h"
#include "test_util.h"

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

int main() {
  lt::seed();
  const int64_t n = 1000000;
  for (float p : {0.0f, 0.1f, 0.5f, 0.9f}) {
    const std::string tag = "dropout p=" + std::to_string(p).substr(0, 3);
    const uint64_t seed = lt::rng()(), off = lt::rng()() >> 2;
    std::vector<float> x = lt::uniform(n, 0.5f, 2.0f);  // never 0, so a 0 output means dropped
    std::vector<float> dout = lt::randn(n);
    std::vector<float> y1(n), y2(n), dx(n);
    lmt_set_num_threads(1);
    lt::expect_status(tag + " forward", lmt_dropout_forward(y1.data(), x.data(), n, p, seed, off), LMT_OK);
    lmt_set_num_threads(2);
    lmt_dropout_forward(y2.data(), x.data(), n, p, seed, off);
    lt::expect(tag + " 1 vs 2 threads bitwise", same_bits(y1, y2));
    lt::expect_status(tag + " backward", lmt_dropout_backward(dx.data(), dout.data(), n, p, seed, off), LMT_OK);
    int64_t kept = 0;
    bool agree = true;
    const float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; ++i) {
      bool k = y2[i] != 0.0f;
      kept += k;
      agree = agree && (k ? dx[i] == dout[i] * scale : dx[i] == 0.0f);
    }
    const double frac = (double)kept / n, sd = std::sqrt(p * (1.0 - p) / n);
    lt::expect_close(tag + " keep fraction vs 1-p, in sd units (tol 5)", sd > 0 ? std::fabs(frac - (1 - p)) / sd : std::fabs(frac - 1.0), 5.0);
    lt::expect(tag + " backward mask == forward mask", agree);
    lt::expect_close(tag + " forward vs reference", lt::max_err(y2, ref::dropout(lt::to_double(x), p, seed, off)), 1e-6);
    lt::expect_close(tag + " backward vs reference", lt::max_err(dx, ref::dropout(lt::to_double(dout), p, seed, off)), 1e-6);
    std::vector<float> y3(n);
    lmt_dropout_forward(y3.data(), x.data(), n, p, seed, off);
    lt::expect(tag + " same seed/offset, same output", same_bits(y2, y3));
    if (p > 0) {
      lmt_dropout_forward(y3.data(), x.data(), n, p, seed, off + n);
      lt::expect(tag + " different offset, different mask", !same_bits(y2, y3));
      lmt_dropout_forward(y3.data(), x.data(), n, p, seed + 1, off);
      lt::expect(tag + " different seed, different mask", !same_bits(y2, y3));
      // Element i uses counter offset+i: a window at offset+k matches elements k.. of the whole.
      std::vector<float> w(1009);
      lmt_dropout_forward(w.data(), x.data() + 123, 1009, p, seed, off + 123);
      lt::expect(tag + " element i uses counter offset+i", std::memcmp(w.data(), y2.data() + 123, 1009 * 4) == 0);
    }
  }
  {
    float o[3], x[3] = {1, 2, 3};
    lt::expect_status("dropout p=1", lmt_dropout_forward(o, x, 3, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("dropout p=-0.1", lmt_dropout_forward(o, x, 3, -0.1f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("dropout p=NaN", lmt_dropout_forward(o, x, 3, NAN, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("dropout null x", lmt_dropout_forward(o, nullptr, 3, 0.5f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("dropout n=-1", lmt_dropout_forward(o, x, -1, 0.5f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("dropout n=0 no-op", lmt_dropout_forward(nullptr, nullptr, 0, 0.5f, 0, 0), LMT_OK);
    lt::expect_status("dropout_backward null dx", lmt_dropout_backward(nullptr, x, 3, 0.5f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("dropout_backward p=1.5", lmt_dropout_backward(o, x, 3, 1.5f, 0, 0), LMT_ERR_INVALID_ARG);
  }
  return lt::finish();
}
