// CUDA LayerNorm (with and without bias) and RMSNorm, forward and backward (dx, dweight,
// dbias), against the CPU kernel on the same inputs; C = 768, odd C, C = 1 and a wide row;
// backward with no rows clears the parameter gradients; argument validation.
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace {

std::vector<float> offset(std::vector<float> v, float by) {
  for (auto& x : v) x += by;
  return v;
}

void layernorm_case(int64_t N, int64_t C, bool with_bias) {
  const std::string tag = "layernorm (" + std::to_string(N) + "," + std::to_string(C) + ")" + (with_bias ? " bias" : " no bias");
  const size_t n = (size_t)(N * C);
  const std::vector<float> x = offset(lt::randn(n, 2.0f), 0.75f), w = lt::randn((size_t)C), b = lt::randn((size_t)C),
                           dout = lt::randn(n);
  const float eps = 1e-5f;
  std::vector<float> out(n), mean((size_t)N), rstd((size_t)N);
  ct::ok("cpu layernorm_forward", lmt_layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                                                         with_bias ? b.data() : nullptr, N, C, eps));
  std::vector<float> dx(n), dw((size_t)C), db((size_t)C);
  ct::ok("cpu layernorm_backward", lmt_layernorm_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, dout.data(),
                                                           x.data(), w.data(), mean.data(), rstd.data(), N, C));

  ct::Dev<float> gx(x), gw(w), gb(b), gdout(dout), gout(n), gmean((size_t)N), grstd((size_t)N);
  ct::ok("cuda layernorm_forward", lmt_cuda_layernorm_forward(gout.p, gmean.p, grstd.p, gx.p, gw.p, with_bias ? gb.p : nullptr,
                                                               N, C, eps));
  lt::expect_close(tag + " forward out", lt::max_err(gout.get(), out), 1e-5);
  lt::expect_close(tag + " forward mean", lt::max_err(gmean.get(), mean), 1e-5);
  lt::expect_close(tag + " forward rstd", lt::max_err(grstd.get(), rstd), 1e-5);

  // Backward from the CPU's saved statistics; parameter gradients start as garbage (they
  // are written with `=`, not accumulated).
  ct::Dev<float> cmean(mean), crstd(rstd), gdx(n), gdw(lt::randn((size_t)C)), gdb(lt::randn((size_t)C));
  ct::ok("cuda layernorm_backward", lmt_cuda_layernorm_backward(gdx.p, gdw.p, with_bias ? gdb.p : nullptr, gdout.p, gx.p, gw.p,
                                                                 cmean.p, crstd.p, N, C));
  lt::expect_close(tag + " backward dx", lt::max_err(gdx.get(), dx), 1e-5);
  lt::expect_close(tag + " backward dweight", lt::max_err(gdw.get(), dw), 1e-5);
  if (with_bias) lt::expect_close(tag + " backward dbias", lt::max_err(gdb.get(), db), 1e-5);
}

void rmsnorm_case(int64_t N, int64_t C) {
  const std::string tag = "rmsnorm (" + std::to_string(N) + "," + std::to_string(C) + ")";
  const size_t n = (size_t)(N * C);
  const std::vector<float> x = offset(lt::randn(n, 2.0f), 0.5f), w = lt::randn((size_t)C), dout = lt::randn(n);
  const float eps = 1e-6f;
  std::vector<float> out(n), rstd((size_t)N), dx(n), dw((size_t)C);
  ct::ok("cpu rmsnorm_forward", lmt_rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps));
  ct::ok("cpu rmsnorm_backward", lmt_rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), rstd.data(), N, C));

  ct::Dev<float> gx(x), gw(w), gdout(dout), gout(n), grstd((size_t)N);
  ct::ok("cuda rmsnorm_forward", lmt_cuda_rmsnorm_forward(gout.p, grstd.p, gx.p, gw.p, N, C, eps));
  lt::expect_close(tag + " forward out", lt::max_err(gout.get(), out), 1e-5);
  lt::expect_close(tag + " forward rstd", lt::max_err(grstd.get(), rstd), 1e-5);

  ct::Dev<float> crstd(rstd), gdx(n), gdw(lt::randn((size_t)C));
  ct::ok("cuda rmsnorm_backward", lmt_cuda_rmsnorm_backward(gdx.p, gdw.p, gdout.p, gx.p, gw.p, crstd.p, N, C));
  lt::expect_close(tag + " backward dx", lt::max_err(gdx.get(), dx), 1e-5);
  lt::expect_close(tag + " backward dweight", lt::max_err(gdw.get(), dw), 1e-5);
}

bool all_zero(const std::vector<float>& v) {
  for (float x : v)
    if (x != 0.0f) return false;
  return true;
}

}  // namespace

int main() {
  ct::require_device();
  lt::seed();
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{64, 768}, {37, 1001}, {5, 1}, {300, 33}, {3000, 129}, {4, 20000}};
  for (auto s : shapes) {
    layernorm_case(s.first, s.second, true);
    layernorm_case(s.first, s.second, false);
    rmsnorm_case(s.first, s.second);
  }

  {
    // No rows: backward writes zero parameter gradients.
    const int64_t C = 77;
    ct::Dev<float> dw(lt::randn((size_t)C)), db(lt::randn((size_t)C)), rw(lt::randn((size_t)C));
    ct::ok("layernorm_backward N=0", lmt_cuda_layernorm_backward(nullptr, dw.p, db.p, nullptr, nullptr, nullptr, nullptr, nullptr, 0, C));
    ct::ok("rmsnorm_backward N=0", lmt_cuda_rmsnorm_backward(nullptr, rw.p, nullptr, nullptr, nullptr, nullptr, 0, C));
    lt::expect("layernorm_backward N=0 zeroes dweight and dbias", all_zero(dw.get()) && all_zero(db.get()));
    lt::expect("rmsnorm_backward N=0 zeroes dweight", all_zero(rw.get()));
  }
  {
    ct::Dev<float> a(8), b(8), c(8), d(8);
    lt::expect_status("cuda layernorm_forward N=-1", lmt_cuda_layernorm_forward(a.p, b.p, c.p, d.p, d.p, nullptr, -1, 2, 1e-5f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda layernorm_forward C=0", lmt_cuda_layernorm_forward(a.p, b.p, c.p, d.p, d.p, nullptr, 2, 0, 1e-5f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda layernorm_forward eps<0", lmt_cuda_layernorm_forward(a.p, b.p, c.p, d.p, d.p, nullptr, 2, 2, -1.0f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda layernorm_forward null mean", lmt_cuda_layernorm_forward(a.p, nullptr, c.p, d.p, d.p, nullptr, 2, 2, 1e-5f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda layernorm_forward N=0 no-op", lmt_cuda_layernorm_forward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 2, 1e-5f), LMT_OK);
    lt::expect_status("cuda layernorm_backward null dweight", lmt_cuda_layernorm_backward(a.p, nullptr, nullptr, d.p, d.p, d.p, b.p, c.p, 2, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda layernorm_backward null rstd", lmt_cuda_layernorm_backward(a.p, b.p, nullptr, d.p, d.p, d.p, b.p, nullptr, 2, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda rmsnorm_forward null x", lmt_cuda_rmsnorm_forward(a.p, b.p, nullptr, d.p, 2, 2, 1e-5f), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda rmsnorm_backward C=-1", lmt_cuda_rmsnorm_backward(a.p, b.p, d.p, d.p, d.p, c.p, 2, -1), LMT_ERR_INVALID_ARG);
  }
  ct::ok("synchronize", lmt_cuda_synchronize());
  return lt::finish();
}
