// CUDA cross-entropy (forward losses and lse, backward dlogits) against the CPU kernel on the
// same inputs: V = 50257 and small V, ignored rows (ignore_index negative and inside [0,V)),
// label smoothing, large logits (|lse| > 64: the recomputing backward path); a target out of
// range returns LMT_ERR_INDEX with the CPU's message and nothing written.
#include <cstring>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace {

std::string tail(const char* msg) {
  const char* p = std::strstr(msg, ": ");
  return p ? std::string(p + 2) : std::string(msg);
}

void ce_case(int64_t N, int64_t V, int32_t ignore_index, float smoothing, float scale, bool big) {
  const std::string tag = "cross_entropy N=" + std::to_string(N) + " V=" + std::to_string(V) + " ignore=" +
                          std::to_string(ignore_index) + " eps=" + std::to_string(smoothing).substr(0, 4) +
                          (big ? " logits +-1e3" : "");
  const size_t n = (size_t)(N * V);
  const std::vector<float> logits = big ? lt::uniform(n, -1e3f, 1e3f) : lt::randn(n, scale);
  std::vector<int32_t> targets = lt::randint((size_t)N, 0, (int32_t)V);
  int ignored = 0;
  for (int64_t i = 0; i < N; i += 5) targets[(size_t)i] = ignore_index, ++ignored;
  const std::vector<float> dlosses = lt::randn((size_t)N);

  std::vector<float> losses((size_t)N), lse((size_t)N), dlogits(n);
  ct::ok("cpu forward", lmt_cross_entropy_forward(losses.data(), lse.data(), logits.data(), targets.data(), N, V, ignore_index, smoothing));
  ct::ok("cpu backward", lmt_cross_entropy_backward(dlogits.data(), dlosses.data(), logits.data(), lse.data(), targets.data(), N, V,
                                                    ignore_index, smoothing));

  ct::Dev<float> glogits(logits), gdl(dlosses), glosses((size_t)N), glse((size_t)N), gclse(lse), gd(lt::randn(n));
  ct::Dev<int32_t> gt(targets);
  ct::ok("cuda forward", lmt_cuda_cross_entropy_forward(glosses.p, glse.p, glogits.p, gt.p, N, V, ignore_index, smoothing));
  // Backward from the CPU's lse, so the comparison isolates the backward.
  ct::ok("cuda backward", lmt_cuda_cross_entropy_backward(gd.p, gdl.p, glogits.p, gclse.p, gt.p, N, V, ignore_index, smoothing));
  const std::vector<float> l = glosses.get(), d = gd.get();
  lt::expect_close(tag + " losses", lt::max_err(l, losses), 1e-5);
  lt::expect_close(tag + " lse", lt::max_err(glse.get(), lse), 1e-5);
  lt::expect_close(tag + " dlogits", lt::max_err(d, dlogits), 1e-5);
  bool zero = true;
  for (int64_t i = 0; i < N; ++i) {
    if (targets[(size_t)i] != ignore_index) continue;
    zero = zero && l[(size_t)i] == 0.0f;
    for (int64_t v = 0; v < V; ++v) zero = zero && d[(size_t)(i * V + v)] == 0.0f;
  }
  lt::expect(tag + ": " + std::to_string(ignored) + " ignored rows: loss 0, zero gradient", zero);
}

}  // namespace

int main() {
  ct::require_device();
  lt::seed();
  ce_case(64, 50257, -100, 0.0f, 2.0f, false);
  ce_case(64, 50257, -100, 0.1f, 2.0f, false);
  ce_case(33, 7, -100, 0.0f, 3.0f, false);
  ce_case(33, 7, 3, 0.2f, 3.0f, false);  // ignore_index inside [0, V): those rows are ignored
  ce_case(100, 1, -1, 0.0f, 1.0f, false);
  ce_case(40, 1000, -100, 0.1f, 0.0f, true);  // |lse| ~ 1e3 > 64: backward recomputes the sum
  ce_case(20, 4099, -100, 1.0f, 5.0f, false);

  {
    const int64_t N = 16, V = 50;
    const int32_t ignore = -100;
    const std::vector<float> logits = lt::randn((size_t)(N * V)), dl = lt::randn((size_t)N);
    const std::vector<float> sentinel = lt::randn((size_t)N), sentinel_d = lt::randn((size_t)(N * V));
    for (int32_t bad : {(int32_t)V, -1, -101}) {
      const std::string tag = "target " + std::to_string(bad);
      std::vector<int32_t> targets = lt::randint((size_t)N, 0, (int32_t)V);
      targets[2] = ignore;
      targets[11] = bad;
      std::vector<float> hl((size_t)N), hlse((size_t)N);
      lmt_status cs = lmt_cross_entropy_forward(hl.data(), hlse.data(), logits.data(), targets.data(), N, V, ignore, 0.0f);
      const std::string cpu_msg = tail(lmt_last_error());
      ct::Dev<float> gl(logits), gdl(dl), gloss(sentinel), glse(sentinel), gd(sentinel_d);
      ct::Dev<int32_t> gt(targets);
      lmt_status s = lmt_cuda_cross_entropy_forward(gloss.p, glse.p, gl.p, gt.p, N, V, ignore, 0.0f);
      lt::expect_status(tag + ": cuda forward", s, LMT_ERR_INDEX);
      lt::expect(tag + ": same status and message as the CPU (" + cpu_msg + ")", cs == s && tail(lmt_last_error()) == cpu_msg);
      lt::expect(tag + ": losses and lse untouched", ct::same(gloss.get(), sentinel) && ct::same(glse.get(), sentinel));
      lt::expect_status(tag + ": cuda backward", lmt_cuda_cross_entropy_backward(gd.p, gdl.p, gl.p, glse.p, gt.p, N, V, ignore, 0.0f),
                        LMT_ERR_INDEX);
      lt::expect(tag + ": dlogits untouched", ct::same(gd.get(), sentinel_d));
    }
    // The flag was cleared: a valid call succeeds.
    std::vector<int32_t> targets = lt::randint((size_t)N, 0, (int32_t)V);
    ct::Dev<float> gl(logits), gloss((size_t)N), glse((size_t)N);
    ct::Dev<int32_t> gt(targets);
    lt::expect_status("cross_entropy after the errors", lmt_cuda_cross_entropy_forward(gloss.p, glse.p, gl.p, gt.p, N, V, ignore, 0.0f),
                      LMT_OK);
  }
  {
    ct::Dev<float> a(8);
    ct::Dev<int32_t> t(std::vector<int32_t>{0, 1});
    lt::expect_status("cuda forward N=-1", lmt_cuda_cross_entropy_forward(a.p, a.p, a.p, t.p, -1, 4, -100, 0.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda forward V=0", lmt_cuda_cross_entropy_forward(a.p, a.p, a.p, t.p, 2, 0, -100, 0.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda forward smoothing 1.5", lmt_cuda_cross_entropy_forward(a.p, a.p, a.p, t.p, 2, 4, -100, 1.5f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda forward null targets", lmt_cuda_cross_entropy_forward(a.p, a.p, a.p, nullptr, 2, 4, -100, 0.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda forward N=0 no-op", lmt_cuda_cross_entropy_forward(nullptr, nullptr, nullptr, nullptr, 0, 4, -100, 0.0f), LMT_OK);
    lt::expect_status("cuda backward null lse", lmt_cuda_cross_entropy_backward(a.p, a.p, a.p, nullptr, t.p, 2, 4, -100, 0.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda backward V=0 no-op", lmt_cuda_cross_entropy_backward(nullptr, nullptr, nullptr, nullptr, nullptr, 2, 0, -100, 0.0f), LMT_OK);
  }
  ct::ok("synchronize", lmt_cuda_synchronize());
  return lt::finish();
}
