// CUDA AdamW over many tensors (odd sizes, empty ones, more than one launch's worth of
// tensors, a decay mask, grad_scale != 1, several steps), the global norm and gradient
// clipping (above and below max_norm, non-finite norm) against the CPU kernels on the same
// inputs; argument validation.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace {

using DevF = std::unique_ptr<ct::Dev<float>>;

std::vector<DevF> upload(const std::vector<std::vector<float>>& host) {
  std::vector<DevF> d;
  for (const auto& h : host) d.emplace_back(new ct::Dev<float>(h));
  return d;
}
// Device pointers of the tensors (null for empty ones, as a caller may pass).
std::vector<float*> ptrs(const std::vector<DevF>& d) {
  std::vector<float*> r;
  for (const auto& x : d) r.push_back(x->n ? x->p : nullptr);
  return r;
}
std::vector<float*> host_ptrs(std::vector<std::vector<float>>& h) {
  std::vector<float*> r;
  for (auto& x : h) r.push_back(x.empty() ? nullptr : x.data());
  return r;
}
double max_err_all(const std::vector<DevF>& got, const std::vector<std::vector<float>>& want) {
  double e = 0;
  for (size_t t = 0; t < want.size(); ++t) e = std::fmax(e, lt::max_err(got[t]->get(), want[t]));
  return e;
}
bool same_all(const std::vector<DevF>& got, const std::vector<std::vector<float>>& want) {
  bool s = true;
  for (size_t t = 0; t < want.size(); ++t) s = s && ct::same(got[t]->get(), want[t]);
  return s;
}
double rel(double a, double b) { return std::fabs(a - b) / std::fmax(std::fabs(b), 1e-300); }

}  // namespace

int main() {
  ct::require_device();
  lt::seed();
  // 6 hand-picked sizes (chunk edges included) and 34 random ones (some empty): 40 tensors,
  // more than one multi-tensor launch.
  std::vector<int64_t> sizes = {1, 7, 0, 1009, 100003, 4096, 4097, 257};
  for (int k = 0; k < 34; ++k) sizes.push_back(k % 11 == 5 ? 0 : (int64_t)lt::randint(1, 1, 9000)[0]);
  sizes.push_back(1 << 20);
  const int count = (int)sizes.size();
  std::vector<uint8_t> decay;
  for (int t = 0; t < count; ++t) decay.push_back((uint8_t)(lt::rng()() % 2));
  const float lr = 3e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, gs = 0.5f;

  std::vector<std::vector<float>> p, m, v;
  for (int64_t n : sizes) {
    p.push_back(lt::randn((size_t)n));
    m.emplace_back((size_t)n, 0.0f);
    v.emplace_back((size_t)n, 0.0f);
  }
  std::vector<DevF> gp = upload(p), gm = upload(m), gv = upload(v);
  for (int64_t step = 1; step <= 5; ++step) {
    std::vector<std::vector<float>> g;
    for (int64_t n : sizes) g.push_back(lt::randn((size_t)n, step == 3 ? 10.0f : 1.0f));
    std::vector<DevF> gg = upload(g);
    std::vector<const float*> hg, dg;
    for (auto& x : g) hg.push_back(x.empty() ? nullptr : x.data());
    for (float* q : ptrs(gg)) dg.push_back(q);
    auto hp = host_ptrs(p), hm = host_ptrs(m), hv = host_ptrs(v);
    ct::ok("cpu adamw_step", lmt_adamw_step(hp.data(), hm.data(), hv.data(), hg.data(), sizes.data(), decay.data(), count, lr, b1,
                                            b2, eps, wd, step, gs));
    auto dp = ptrs(gp), dm = ptrs(gm), dv = ptrs(gv);
    ct::ok("cuda adamw_step", lmt_cuda_adamw_step(dp.data(), dm.data(), dv.data(), dg.data(), sizes.data(), decay.data(), count, lr,
                                                  b1, b2, eps, wd, step, gs));
  }
  lt::expect_close("adamw 40 tensors x 5 steps: params", max_err_all(gp, p), 1e-5);
  lt::expect_close("adamw 40 tensors x 5 steps: m", max_err_all(gm, m), 1e-5);
  lt::expect_close("adamw 40 tensors x 5 steps: v", max_err_all(gv, v), 1e-5);

  // Global norm and clipping over the same list of tensors (the CPU's updated params, so that
  // both backends see identical data).
  {
    std::vector<DevF> gn = upload(p);
    auto hp = host_ptrs(p);
    std::vector<const float*> hc(hp.begin(), hp.end());
    auto dp = ptrs(gn);
    std::vector<const float*> dc(dp.begin(), dp.end());
    double want = 0, got = 0;
    ct::ok("cpu global_norm", lmt_global_norm(&want, hc.data(), sizes.data(), count));
    ct::ok("cuda global_norm", lmt_cuda_global_norm(&got, dc.data(), sizes.data(), count));
    lt::expect_close("global_norm (" + std::to_string(want) + ")", rel(got, want), 1e-10);

    // Below max_norm: norm reported, tensors untouched (bitwise).
    double n_cpu = 0, n_gpu = 0;
    ct::ok("cuda clip (no-op)", lmt_cuda_clip_grad_norm(&n_gpu, dp.data(), sizes.data(), count, (float)(want * 2)));
    lt::expect_close("clip below max_norm: norm", rel(n_gpu, want), 1e-10);
    lt::expect("clip below max_norm: tensors untouched", same_all(gn, p));

    // Above max_norm: scaled like the CPU kernel.
    const float max_norm = (float)(want / 3);
    ct::ok("cpu clip", lmt_clip_grad_norm(&n_cpu, hp.data(), sizes.data(), count, max_norm));
    ct::ok("cuda clip", lmt_cuda_clip_grad_norm(&n_gpu, dp.data(), sizes.data(), count, max_norm));
    lt::expect_close("clip above max_norm: norm before clipping", rel(n_gpu, n_cpu), 1e-10);
    lt::expect_close("clip above max_norm: tensors", max_err_all(gn, p), 1e-6);
    double after = 0;
    ct::ok("cuda global_norm after clip", lmt_cuda_global_norm(&after, dc.data(), sizes.data(), count));
    lt::expect_close("norm after clip == max_norm", rel(after, max_norm), 1e-5);
  }
  {
    // A NaN (and an Inf) in one tensor: the norm is non-finite and nothing is scaled.
    std::vector<std::vector<float>> t = {lt::randn(1000), lt::randn(5000)};
    for (float bad : {NAN, INFINITY}) {
      t[1][123] = bad;
      std::vector<DevF> gt = upload(t);
      auto dp = ptrs(gt);
      std::vector<int64_t> sz = {1000, 5000};
      double n = 0;
      ct::ok("cuda clip non-finite", lmt_cuda_clip_grad_norm(&n, dp.data(), sz.data(), 2, 1.0f));
      lt::expect(std::string("clip with ") + (bad != bad ? "NaN" : "Inf") + ": norm not finite, tensors untouched",
                 !std::isfinite(n) && same_all(gt, t));
    }
    double n = -1;
    ct::ok("cuda global_norm count=0", lmt_cuda_global_norm(&n, nullptr, nullptr, 0));
    lt::expect("global_norm of no tensors is 0", n == 0.0);
    std::vector<int64_t> zs = {0, 0};
    std::vector<const float*> np = {nullptr, nullptr};
    ct::ok("cuda global_norm empty tensors", lmt_cuda_global_norm(&n, np.data(), zs.data(), 2));
    lt::expect("global_norm of empty tensors is 0", n == 0.0);
  }
  {
    ct::Dev<float> a(4);
    float* pa[1] = {a.p};
    const float* ca[1] = {a.p};
    int64_t s1[1] = {4}, sneg[1] = {-1};
    uint8_t dc[1] = {1};
    double n = 0;
    lt::expect_status("cuda adamw step=0", lmt_cuda_adamw_step(pa, pa, pa, ca, s1, dc, 1, 1e-3f, 0.9f, 0.99f, 1e-8f, 0.0f, 0, 1.0f),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda adamw beta1=1", lmt_cuda_adamw_step(pa, pa, pa, ca, s1, dc, 1, 1e-3f, 1.0f, 0.99f, 1e-8f, 0.0f, 1, 1.0f),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda adamw null decay", lmt_cuda_adamw_step(pa, pa, pa, ca, s1, nullptr, 1, 1e-3f, 0.9f, 0.99f, 1e-8f, 0.0f, 1, 1.0f),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda adamw sizes[0]=-1", lmt_cuda_adamw_step(pa, pa, pa, ca, sneg, dc, 1, 1e-3f, 0.9f, 0.99f, 1e-8f, 0.0f, 1, 1.0f),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda adamw grad_scale=inf", lmt_cuda_adamw_step(pa, pa, pa, ca, s1, dc, 1, 1e-3f, 0.9f, 0.99f, 1e-8f, 0.0f, 1, INFINITY),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda adamw count=0 no-op", lmt_cuda_adamw_step(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 1e-3f, 0.9f, 0.99f,
                                                                      1e-8f, 0.0f, 1, 1.0f),
                      LMT_OK);
    lt::expect_status("cuda global_norm null norm", lmt_cuda_global_norm(nullptr, ca, s1, 1), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda global_norm count=-1", lmt_cuda_global_norm(&n, ca, s1, -1), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda clip max_norm=0", lmt_cuda_clip_grad_norm(&n, pa, s1, 1, 0.0f), LMT_ERR_INVALID_ARG);
  }
  ct::ok("synchronize", lmt_cuda_synchronize());
  return lt::finish();
}
