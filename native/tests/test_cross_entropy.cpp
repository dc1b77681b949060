// Fused cross-entropy forward/backward against the double reference: large logits, ignored
// rows, label smoothing, V from 1 to GPT-2's 50257, a finite-difference check of the
// backward, and argument / index errors.
#include <cstring>
#include <string>
#include <vector>

#include "ops_b.h"
#include "test_util.h"

namespace {

const int32_t IGNORE = -100;

void ce_case(int64_t N, int64_t V, float logit_scale, float eps, bool with_ignored) {
  std::string tag = "(N=" + std::to_string(N) + ", V=" + std::to_string(V) + ", |x|~" +
                    std::to_string((int)logit_scale) + ", eps=" + std::to_string(eps).substr(0, 3) +
                    (with_ignored ? ", ignored rows" : "") + ")";
  auto x = lt::randn(N * V, logit_scale);
  auto t = lt::randint(N, 0, (int32_t)V);
  if (with_ignored)
    for (int64_t i = 0; i < N; i += 3) t[i] = IGNORE;
  auto dl = lt::randn(N);
  std::vector<float> loss(N, NAN), lse(N, NAN), dx(N * V, NAN);
  lmt_status s1 = lmt_cross_entropy_forward(loss.data(), lse.data(), x.data(), t.data(), N, V, IGNORE, eps);
  lmt_status s2 = lmt_cross_entropy_backward(dx.data(), dl.data(), x.data(), lse.data(), t.data(), N, V, IGNORE, eps);
  ref::vec rloss, rlse, rdx;
  ref::vec xd = lt::to_double(x);
  ref::cross_entropy_forward(rloss, rlse, xd, t, N, V, IGNORE, eps);
  ref::cross_entropy_backward(rdx, lt::to_double(dl), xd, t, N, V, IGNORE, eps);
  lt::expect_close("cross_entropy_forward losses " + tag, s1 == LMT_OK ? lt::max_err(loss, rloss) : INFINITY, 1e-5);
  lt::expect_close("cross_entropy_forward lse " + tag, lt::max_err(lse, rlse), 1e-5);
  lt::expect_close("cross_entropy_backward " + tag, s2 == LMT_OK ? lt::max_err(dx, rdx) : INFINITY, 1e-4);
}

}  // namespace

int main() {
  lt::seed();
  lmt_set_num_threads(2);
  for (int64_t V : {1, 7, 131})
    for (float eps : {0.0f, 0.1f}) {
      ce_case(67, V, 1.0f, eps, false);
      ce_case(67, V, 1.0f, eps, true);
      ce_case(13, V, 1e4f, eps, true);
    }
  ce_case(5, 50257, 3.0f, 0.0f, true);
  ce_case(5, 50257, 3.0f, 0.1f, false);
  ce_case(3, 50257, 1e4f, 0.1f, false);

  // Central finite differences (double) of sum_i dl_i * loss_i through the reference forward.
  for (float eps : {0.0f, 0.1f}) {
    const int64_t N = 4, V = 9;
    auto x = lt::randn(N * V, 2.0f);
    auto t = lt::randint(N, 0, V);
    t[1] = IGNORE;
    auto dl = lt::randn(N);
    std::vector<float> loss(N), lse(N), dx(N * V);
    lmt_cross_entropy_forward(loss.data(), lse.data(), x.data(), t.data(), N, V, IGNORE, eps);
    lmt_cross_entropy_backward(dx.data(), dl.data(), x.data(), lse.data(), t.data(), N, V, IGNORE, eps);
    ref::vec xd = lt::to_double(x), fd(N * V);
    auto L = [&](const ref::vec& xx) {
      ref::vec l, s;
      ref::cross_entropy_forward(l, s, xx, t, N, V, IGNORE, eps);
      double sum = 0;
      for (int64_t i = 0; i < N; ++i) sum += dl[i] * l[i];
      return sum;
    };
    for (int64_t i = 0; i < N * V; ++i) {
      ref::vec xp = xd, xm = xd;
      xp[i] += 1e-6;
      xm[i] -= 1e-6;
      fd[i] = (L(xp) - L(xm)) / 2e-6;
    }
    lt::expect_close("cross_entropy_backward vs finite differences (4x9, eps=" + std::to_string(eps).substr(0, 3) + ")",
                     lt::max_err(dx, fd), 1e-4);
  }

  float x[6] = {1, 2, 3, 4, 5, 6}, l[2] = {7, 7}, s[2] = {7, 7}, dx[6];
  int32_t bad[2] = {1, 3}, good[2] = {1, IGNORE};
  lt::expect_status("forward target 3 with V=3", lmt_cross_entropy_forward(l, s, x, bad, 2, 3, IGNORE, 0), LMT_ERR_INDEX);
  lt::expect("error names position and value", std::strstr(lmt_last_error(), "targets[1] = 3") != nullptr);
  lt::expect("losses untouched on LMT_ERR_INDEX", l[0] == 7 && l[1] == 7 && s[0] == 7);
  lt::expect_status("backward target out of range", lmt_cross_entropy_backward(dx, l, x, s, bad, 2, 3, IGNORE, 0), LMT_ERR_INDEX);
  lt::expect_status("ignore_index target accepted", lmt_cross_entropy_forward(l, s, x, good, 2, 3, IGNORE, 0), LMT_OK);
  lt::expect("ignored row has loss 0", l[1] == 0.0f);
  lt::expect_status("null logits", lmt_cross_entropy_forward(l, s, nullptr, good, 2, 3, IGNORE, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("null lse in backward", lmt_cross_entropy_backward(dx, l, x, nullptr, good, 2, 3, IGNORE, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("negative V", lmt_cross_entropy_forward(l, s, x, good, 2, -3, IGNORE, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("label_smoothing 1.5", lmt_cross_entropy_forward(l, s, x, good, 2, 3, IGNORE, 1.5f), LMT_ERR_INVALID_ARG);
  lt::expect_status("N=0 no-op", lmt_cross_entropy_forward(nullptr, nullptr, nullptr, nullptr, 0, 3, IGNORE, 0), LMT_OK);
  return lt::finish();
}
