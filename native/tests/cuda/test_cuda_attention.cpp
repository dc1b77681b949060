// CUDA fused attention vs the CPU kernel: head sizes across the compiled D variants, causal
// with Tq == Tk and Tq < Tk, bias shared over the batch or per batch, key masks including a
// fully masked query row, forward (out, lse) and backward (dq, dk, dv, dbias).
#include "cuda_test_util.h"

namespace {

// Gradients can cancel to zero up to rounding (one visible key: dS = P (dP - D) = 0, so dq,
// dk and dbias are rounding noise of size eps * |dP|). Errors are measured against the size
// the terms had before cancelling, `floor`, or max|ref| when that is larger.
template <class G, class R>
double grad_err(const G& got, const R& ref, double floor) {
  double maxref = floor, maxdiff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isnan((double)got[i]) != std::isnan((double)ref[i])) return INFINITY;
    maxref = std::fmax(maxref, std::fabs((double)ref[i]));
    maxdiff = std::fmax(maxdiff, std::fabs((double)got[i] - (double)ref[i]));
  }
  if (got.size() != ref.size()) return INFINITY;
  return maxdiff == 0 ? 0.0 : maxdiff / std::fmax(maxref, 1e-30);
}
double maxabs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::fmax(m, std::fabs((double)x));
  return m;
}

struct Case {
  int64_t B, NH, Tq, Tk, HS;
  int causal;
  int bias;  // 0 none, 1 shared (bias_B = 1), 2 per batch
  bool mask;
};

void run(const Case& c) {
  const int64_t B = c.B, NH = c.NH, Tq = c.Tq, Tk = c.Tk, HS = c.HS;
  const int64_t bias_B = c.bias == 2 ? B : 1;
  const float scale = 1.0f / std::sqrt((float)(HS > 0 ? HS : 1));
  auto q = lt::randn((size_t)(B * NH * Tq * HS));
  auto k = lt::randn((size_t)(B * NH * Tk * HS));
  auto v = lt::randn((size_t)(B * NH * Tk * HS));
  auto g = lt::randn((size_t)(B * NH * Tq * HS));
  std::vector<float> bias = c.bias ? lt::randn((size_t)(bias_B * NH * Tq * Tk), 0.5f) : std::vector<float>();
  std::vector<float> mask;
  if (c.mask) {
    mask.assign((size_t)(B * Tk), 0.f);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < Tk; ++j)
        if ((j * 7 + b) % 5 == 0) mask[b * Tk + j] = -INFINITY;
    // Batch 0 hides every key: its queries see nothing (out 0, lse -inf, zero gradients).
    for (int64_t j = 0; j < Tk; ++j) mask[j] = -INFINITY;
  }
  const float* hb = c.bias ? bias.data() : nullptr;
  const float* hm = c.mask ? mask.data() : nullptr;
  std::vector<float> out(q.size()), lse((size_t)(B * NH * Tq));
  lmt_attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), hb, hm, B, NH, Tq, Tk, HS, bias_B,
                        c.causal, scale);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size()), dbias(bias.size());
  lmt_attention_backward(dq.data(), dk.data(), dv.data(), c.bias ? dbias.data() : nullptr, g.data(), q.data(),
                         k.data(), v.data(), out.data(), lse.data(), hb, hm, B, NH, Tq, Tk, HS, bias_B, c.causal,
                         scale);

  ct::Dev<float> Dq(q), Dk(k), Dv(v), Dg(g), Dbias(bias), Dmask(mask);
  ct::Dev<float> Dout(out.size()), Dlse(lse.size()), Ddq(dq.size()), Ddk(dk.size()), Ddv(dv.size()),
      Ddbias(dbias.size());
  char what[200];
  std::snprintf(what, sizeof what, "attention B%lld NH%lld Tq%lld Tk%lld HS%lld causal%d bias%d mask%d",
                (long long)B, (long long)NH, (long long)Tq, (long long)Tk, (long long)HS, c.causal, c.bias,
                (int)c.mask);
  std::string w = what;
  if (!ct::ok(what, lmt_cuda_attention_forward(Dout.p, Dlse.p, Dq.p, Dk.p, Dv.p, c.bias ? Dbias.p : nullptr,
                                               c.mask ? Dmask.p : nullptr, B, NH, Tq, Tk, HS, bias_B, c.causal,
                                               scale)))
    return;
  lt::expect_close(w + " out", lt::max_err(Dout.get(), out), 1e-5);
  lt::expect_close(w + " lse", lt::max_err(Dlse.get(), lse), 1e-5);
  // Backward from the CPU's out and lse, so the two backward passes see the same inputs.
  ct::Dev<float> Dout_ref(out), Dlse_ref(lse);
  if (!ct::ok(what, lmt_cuda_attention_backward(Ddq.p, Ddk.p, Ddv.p, c.bias ? Ddbias.p : nullptr, Dg.p, Dq.p, Dk.p,
                                                Dv.p, Dout_ref.p, Dlse_ref.p, c.bias ? Dbias.p : nullptr,
                                                c.mask ? Dmask.p : nullptr, B, NH, Tq, Tk, HS, bias_B, c.causal,
                                                scale)))
    return;
  // |dS| before cancelling is about max|dout| max|v|; dq and dk scale it by scale * |k| or |q|.
  const double ds = maxabs(g) * maxabs(v), qk = std::fmax(maxabs(q), maxabs(k));
  lt::expect_close(w + " dq", grad_err(Ddq.get(), dq, scale * ds * qk), 3e-5);
  lt::expect_close(w + " dk", grad_err(Ddk.get(), dk, scale * ds * qk), 3e-5);
  lt::expect_close(w + " dv", grad_err(Ddv.get(), dv, 0.0), 3e-5);
  if (c.bias) lt::expect_close(w + " dbias", grad_err(Ddbias.get(), dbias, ds), 3e-5);
}

}  // namespace

int main() {
  ct::require_device();
  const Case cases[] = {
      {2, 3, 70, 70, 16, 1, 0, false},  {2, 3, 70, 70, 64, 0, 0, false},  {2, 2, 130, 130, 64, 1, 1, true},
      {3, 2, 5, 70, 48, 1, 2, true},    {2, 2, 66, 40, 100, 0, 2, false}, {1, 2, 33, 33, 200, 1, 0, true},
      {2, 4, 256, 256, 64, 1, 0, false}, {1, 1, 1, 1, 8, 1, 1, false},    {2, 2, 17, 0, 32, 0, 0, false},
  };
  for (const Case& c : cases) run(c);
  ct::Dev<float> d(64);
  lt::expect_status("HS 300", lmt_cuda_attention_forward(d.p, d.p, d.p, d.p, d.p, nullptr, nullptr, 1, 1, 1, 1, 300,
                                                         1, 0, 1.f),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("negative B", lmt_cuda_attention_forward(d.p, d.p, d.p, d.p, d.p, nullptr, nullptr, -1, 1, 1, 1,
                                                             8, 1, 0, 1.f),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("synchronize", lmt_cuda_synchronize(), LMT_OK);
  return lt::finish();
}
