// AdamW over several tensors and steps (mixed decay flags, grad_scale != 1) against a
// double reference loop; global norm; clipping (scales above max_norm, leaves tensors alone
// below it or when the norm is NaN/Inf); thread independence.
#include <cstring>

#include "ops_a.h"
#include "test_util.h"

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

int main() {
  lt::seed();
  const std::vector<int64_t> sizes = {1, 7, 0, 1009, 100003, 257};
  const std::vector<uint8_t> decay = {1, 0, 1, 1, 0, 1};
  const int count = (int)sizes.size();
  const float lr = 3e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, gs = 0.5f;

  // Two fp32 copies (run with 1 and 2 threads) and a double reference.
  std::vector<std::vector<float>> p1, m1, v1, p2, m2, v2;
  std::vector<ref::vec> pr, mr, vr;
  for (int64_t n : sizes) {
    std::vector<float> p = lt::randn(n);
    p1.push_back(p), p2.push_back(p), pr.push_back(lt::to_double(p));
    m1.emplace_back(n, 0.0f), m2.emplace_back(n, 0.0f), mr.emplace_back(n, 0.0);
    v1.emplace_back(n, 0.0f), v2.emplace_back(n, 0.0f), vr.emplace_back(n, 0.0);
  }
  auto ptrs = [](std::vector<std::vector<float>>& t) {
    std::vector<float*> r;
    for (auto& x : t) r.push_back(x.empty() ? nullptr : x.data());
    return r;
  };
  bool det = true;
  for (int64_t step = 1; step <= 6; ++step) {
    std::vector<std::vector<float>> g;
    for (int64_t n : sizes) g.push_back(lt::randn(n, step == 3 ? 10.0f : 1.0f));
    std::vector<const float*> gp;
    for (auto& x : g) gp.push_back(x.empty() ? nullptr : x.data());
    auto pp1 = ptrs(p1), mp1 = ptrs(m1), vp1 = ptrs(v1), pp2 = ptrs(p2), mp2 = ptrs(m2), vp2 = ptrs(v2);
    lmt_set_num_threads(1);
    lmt_status st = lmt_adamw_step(pp1.data(), mp1.data(), vp1.data(), gp.data(), sizes.data(), decay.data(), count, lr, b1, b2, eps, wd, step, gs);
    if (st != LMT_OK) lt::expect_status("adamw_step", st, LMT_OK);
    lmt_set_num_threads(2);
    lmt_adamw_step(pp2.data(), mp2.data(), vp2.data(), gp.data(), sizes.data(), decay.data(), count, lr, b1, b2, eps, wd, step, gs);
    for (int t = 0; t < count; ++t) {
      ref::adamw_step(pr[t], mr[t], vr[t], lt::to_double(g[t]), lr, b1, b2, eps, decay[t] ? wd : 0.0, step, gs);
      det = det && same_bits(p1[t], p2[t]) && same_bits(m1[t], m2[t]) && same_bits(v1[t], v2[t]);
    }
  }
  double ep = 0, em = 0, ev = 0;
  for (int t = 0; t < count; ++t) {
    ep = std::fmax(ep, lt::max_err(p2[t], pr[t]));
    em = std::fmax(em, lt::max_err(m2[t], mr[t]));
    ev = std::fmax(ev, lt::max_err(v2[t], vr[t]));
  }
  lt::expect_close("adamw 6 steps: params vs reference", ep, 1e-5);
  lt::expect_close("adamw 6 steps: m vs reference", em, 1e-5);
  lt::expect_close("adamw 6 steps: v vs reference", ev, 1e-5);
  lt::expect("adamw 1 vs 2 threads bitwise (params, m, v)", det);
  {
    // Decay flag off and zero gradient: nothing moves; on: p shrinks by lr*wd.
    std::vector<float> p = {2.0f}, m = {0.0f}, v = {0.0f}, g = {0.0f};
    float* pp = p.data(); float* mp = m.data(); float* vp = v.data(); const float* gp = g.data();
    int64_t one = 1;
    uint8_t off = 0, on = 1;
    lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &off, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1, 1.0f);
    lt::expect("adamw decay=0, g=0: param unchanged", p[0] == 2.0f);
    lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &on, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1, 1.0f);
    lt::expect_close("adamw decay=1, g=0: p -= lr*wd*p", std::fabs(p[0] - 2.0f * (1 - 0.05f)) / 2.0, 1e-7);
  }

  // ---- global norm and clipping ----
  {
    std::vector<std::vector<float>> t;
    for (int64_t n : sizes) t.push_back(lt::randn(n));
    std::vector<ref::vec> td;
    for (auto& x : t) td.push_back(lt::to_double(x));
    auto tp = ptrs(t);
    std::vector<const float*> ctp(tp.begin(), tp.end());
    double norm1 = -1, norm2 = -1;
    lmt_set_num_threads(1);
    lt::expect_status("global_norm", lmt_global_norm(&norm1, ctp.data(), sizes.data(), count), LMT_OK);
    lmt_set_num_threads(2);
    lmt_global_norm(&norm2, ctp.data(), sizes.data(), count);
    const double want = ref::global_norm(td);
    lt::expect_close("global_norm vs reference", std::fabs(norm2 - want) / want, 1e-12);
    lt::expect("global_norm 1 vs 2 threads bitwise", std::memcmp(&norm1, &norm2, sizeof(double)) == 0);

    // Above max_norm: every element scaled by max_norm / (norm + 1e-6).
    auto c = t;
    auto cp = ptrs(c);
    double got = -1;
    const float max_norm = 1.0f;
    lt::expect_status("clip_grad_norm", lmt_clip_grad_norm(&got, cp.data(), sizes.data(), count, max_norm), LMT_OK);
    lt::expect_close("clip_grad_norm returns the norm before clipping", std::fabs(got - want) / want, 1e-12);
    const double scale = max_norm / (want + 1e-6);
    std::vector<ref::vec> cd;
    double e = 0;
    for (int i = 0; i < count; ++i) {
      ref::vec r = td[i];
      for (auto& x : r) x *= scale;
      e = std::fmax(e, lt::max_err(c[i], r));
      cd.push_back(lt::to_double(c[i]));
    }
    lt::expect_close("clip_grad_norm scaled tensors vs reference", e, 1e-6);
    lt::expect_close("clip_grad_norm: norm after clipping ~ max_norm", std::fabs(ref::global_norm(cd) - max_norm), 1e-5);

    // Below max_norm: untouched.
    c = t;
    cp = ptrs(c);
    lmt_clip_grad_norm(&got, cp.data(), sizes.data(), count, (float)(want * 2));
    bool same = true;
    for (int i = 0; i < count; ++i) same = same && same_bits(c[i], t[i]);
    lt::expect("clip_grad_norm below max_norm leaves tensors alone", same && got == norm2);

    // Non-finite norm: untouched, norm reported.
    for (float bad : {NAN, INFINITY}) {
      c = t;
      c[3][500] = bad;
      auto before = c;
      cp = ptrs(c);
      lt::expect_status("clip_grad_norm with a non-finite element", lmt_clip_grad_norm(&got, cp.data(), sizes.data(), count, max_norm), LMT_OK);
      same = true;
      for (int i = 0; i < count; ++i) same = same && same_bits(c[i], before[i]);
      lt::expect(std::string("clip_grad_norm leaves tensors alone when norm is ") + (std::isnan(bad) ? "NaN" : "Inf"),
                 same && !std::isfinite(got));
    }
    double z = -1;
    lt::expect_status("global_norm count=0", lmt_global_norm(&z, nullptr, nullptr, 0), LMT_OK);
    lt::expect("global_norm of nothing is 0", z == 0.0);
  }

  // ---- errors ----
  {
    float p = 1, m = 0, v = 0, g = 1;
    float* pp = &p; float* mp = &m; float* vp = &v; const float* gp = &g;
    int64_t one = 1, neg = -1;
    uint8_t d = 1;
    double nrm;
    lt::expect_status("adamw step=0", lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &d, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 0, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw beta1=1", lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &d, 1, 0.1f, 1.0f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw beta2=NaN", lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &d, 1, 0.1f, 0.9f, NAN, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw eps<0", lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &d, 1, 0.1f, 0.9f, 0.999f, -1.0f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw count=-1", lmt_adamw_step(&pp, &mp, &vp, &gp, &one, &d, -1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw null params", lmt_adamw_step(nullptr, &mp, &vp, &gp, &one, &d, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw null decay", lmt_adamw_step(&pp, &mp, &vp, &gp, &one, nullptr, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw sizes[0]=-1", lmt_adamw_step(&pp, &mp, &vp, &gp, &neg, &d, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    float* np = nullptr;
    lt::expect_status("adamw m[0] null", lmt_adamw_step(&pp, &np, &vp, &gp, &one, &d, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("adamw count=0 no-op", lmt_adamw_step(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f), LMT_OK);
    lt::expect_status("global_norm null norm", lmt_global_norm(nullptr, &gp, &one, 1), LMT_ERR_INVALID_ARG);
    lt::expect_status("global_norm null sizes", lmt_global_norm(&nrm, &gp, nullptr, 1), LMT_ERR_INVALID_ARG);
    lt::expect_status("global_norm count=-2", lmt_global_norm(&nrm, &gp, &one, -2), LMT_ERR_INVALID_ARG);
    lt::expect_status("clip_grad_norm max_norm=0", lmt_clip_grad_norm(&nrm, &pp, &one, 1, 0.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("clip_grad_norm max_norm=NaN", lmt_clip_grad_norm(&nrm, &pp, &one, 1, NAN), LMT_ERR_INVALID_ARG);
    lt::expect_status("clip_grad_norm null tensors", lmt_clip_grad_norm(&nrm, nullptr, &one, 1, 1.0f), LMT_ERR_INVALID_ARG);
  }
  return lt::finish();
}
