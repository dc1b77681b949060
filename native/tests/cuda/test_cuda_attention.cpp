// CUDA fused attention vs the CPU kernel: head sizes across the compiled D variants, causal
// with Tq == Tk, Tq < Tk and Tq > Tk, bias shared over the batch or per batch (and with
// -FLT_MAX entries, an additive mask's usual value), key masks
// including a fully masked query row, forward (out, lse) and backward (dq, dk, dv, dbias).
// Each case runs at the fp32 precision (the SIMT kernels) and at BF16, where head sizes up to
// 128 take the tensor-core kernels: they are compared with the CPU kernel on the same
// bf16-rounded q, k, v and dout, so what remains is the rounding of P and dS to bf16 inside
// the kernels (relative 2^-9 per element) and the order of accumulation.
#include <cfloat>

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
  int bias;  // 0 none, 1 shared (bias_B = 1), 2 per batch, 3 shared with -FLT_MAX entries
  bool mask;
};

// Largest errors seen at BF16 on the tensor-core path, printed at the end.
double worst_bf16[6] = {0, 0, 0, 0, 0, 0};
const char* const worst_names[6] = {"out", "lse", "dq", "dk", "dv", "dbias"};

void run(const Case& c, int precision) {
  const int64_t B = c.B, NH = c.NH, Tq = c.Tq, Tk = c.Tk, HS = c.HS;
  const int64_t bias_B = c.bias == 2 ? B : 1;
  const float scale = 1.0f / std::sqrt((float)(HS > 0 ? HS : 1));
  const bool bf16 = precision == LMT_PREC_BF16;
  const bool mma = bf16 && HS >= 1 && HS <= 128;  // the tensor-core kernels' range
  auto in = [&](size_t n) { return bf16 ? ct::round_bf16(lt::randn(n)) : lt::randn(n); };
  auto q = in((size_t)(B * NH * Tq * HS));
  auto k = in((size_t)(B * NH * Tk * HS));
  auto v = in((size_t)(B * NH * Tk * HS));
  auto g = in((size_t)(B * NH * Tq * HS));
  std::vector<float> bias = c.bias ? lt::randn((size_t)(bias_B * NH * Tq * Tk), 0.5f) : std::vector<float>();
  if (c.bias == 3) {
    // -FLT_MAX, the usual "masked" value of an additive mask: scattered, and whole query rows
    // (which then attend uniformly, as on the CPU, rather than to nothing).
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t i = 0; i < Tq; ++i)
        for (int64_t j = 0; j < Tk; ++j)
          if (i % 4 == 1 || (i + 3 * j) % 7 == 0) bias[(size_t)((h * Tq + i) * Tk + j)] = -FLT_MAX;
  }
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
  std::snprintf(what, sizeof what, "attention %s B%lld NH%lld Tq%lld Tk%lld HS%lld causal%d bias%d mask%d",
                mma ? "bf16-mma" : bf16 ? "bf16-simt" : "fp32", (long long)B, (long long)NH, (long long)Tq,
                (long long)Tk, (long long)HS, c.causal, c.bias, (int)c.mask);
  std::string w = what;
  // Bounds: fp32 rounding for the SIMT kernels; with bf16 P and dS, errors relative to the
  // size of the terms summed (max|v| for out, max|dout| for dv). Measured on the emulation
  // over three seeds: out 7e-4, dq 1.1e-3, dk 1.2e-3, dv 1.8e-3; lse and dbias (no bf16
  // rounding after the products) 2e-7.
  const double tol_out = mma ? 3e-3 : 1e-5, tol_grad = mma ? 6e-3 : 3e-5;
  lmt_cuda_set_matmul_precision(precision);
  const lmt_status fs = lmt_cuda_attention_forward(Dout.p, Dlse.p, Dq.p, Dk.p, Dv.p, c.bias ? Dbias.p : nullptr,
                                                   c.mask ? Dmask.p : nullptr, B, NH, Tq, Tk, HS, bias_B, c.causal,
                                                   scale);
  lmt_cuda_set_matmul_precision(LMT_PREC_FP32);
  if (!ct::ok(what, fs)) return;
  const double e_out = mma ? grad_err(Dout.get(), out, maxabs(v)) : lt::max_err(Dout.get(), out);
  const double e_lse = lt::max_err(Dlse.get(), lse);
  lt::expect_close(w + " out", e_out, tol_out);
  lt::expect_close(w + " lse", e_lse, 1e-5);
  // Backward from the CPU's out and lse, so the two backward passes see the same inputs.
  ct::Dev<float> Dout_ref(out), Dlse_ref(lse);
  lmt_cuda_set_matmul_precision(precision);
  const lmt_status bs = lmt_cuda_attention_backward(Ddq.p, Ddk.p, Ddv.p, c.bias ? Ddbias.p : nullptr, Dg.p, Dq.p,
                                                    Dk.p, Dv.p, Dout_ref.p, Dlse_ref.p, c.bias ? Dbias.p : nullptr,
                                                    c.mask ? Dmask.p : nullptr, B, NH, Tq, Tk, HS, bias_B, c.causal,
                                                    scale);
  lmt_cuda_set_matmul_precision(LMT_PREC_FP32);
  if (!ct::ok(what, bs)) return;
  // |dS| before cancelling is about max|dout| max|v|; dq and dk scale it by scale * |k| or |q|.
  const double ds = maxabs(g) * maxabs(v), qk = std::fmax(maxabs(q), maxabs(k));
  const double e[6] = {e_out,
                       e_lse,
                       grad_err(Ddq.get(), dq, scale * ds * qk),
                       grad_err(Ddk.get(), dk, scale * ds * qk),
                       grad_err(Ddv.get(), dv, mma ? maxabs(g) : 0.0),
                       c.bias ? grad_err(Ddbias.get(), dbias, ds) : 0.0};
  lt::expect_close(w + " dq", e[2], tol_grad);
  lt::expect_close(w + " dk", e[3], tol_grad);
  lt::expect_close(w + " dv", e[4], tol_grad);
  if (c.bias) lt::expect_close(w + " dbias", e[5], 3e-5);
  if (mma)
    for (int x = 0; x < 6; ++x) worst_bf16[x] = std::fmax(worst_bf16[x], e[x]);
}

}  // namespace

int main() {
  ct::require_device();
  const Case cases[] = {
      {2, 3, 70, 70, 16, 1, 0, false},  {2, 3, 70, 70, 64, 0, 0, false},  {2, 2, 130, 130, 64, 1, 1, true},
      {3, 2, 5, 70, 48, 1, 2, true},    {2, 2, 66, 40, 100, 0, 2, false}, {1, 2, 33, 33, 200, 1, 0, true},
      {2, 4, 256, 256, 64, 1, 0, false}, {1, 1, 1, 1, 8, 1, 1, false},    {2, 2, 17, 0, 32, 0, 0, false},
      {2, 2, 150, 90, 128, 1, 1, true},  {2, 1, 64, 64, 32, 1, 2, false}, {2, 2, 70, 70, 64, 0, 3, false},
      {2, 1, 70, 90, 32, 1, 3, true},
  };
  for (int precision : {LMT_PREC_FP32, LMT_PREC_BF16})
    for (const Case& c : cases) run(c, precision);
  std::printf("bf16 tensor-core path, largest errors:");
  for (int x = 0; x < 6; ++x) std::printf(" %s %.2e", worst_names[x], worst_bf16[x]);
  std::printf("\n");
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
