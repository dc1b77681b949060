// CUDA embedding and gather, forward and backward, against the CPU kernel on the same inputs
// (repeated ids, so backward sums several rows into one); ids out of range return
// LMT_ERR_INDEX with the CPU's message, leave the outputs untouched, and later calls work.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace {

// The message after the function name ("lmt_embedding_forward: ids[3] = ..." -> "ids[3] = ...").
std::string tail(const char* msg) {
  const char* p = std::strstr(msg, ": ");
  return p ? std::string(p + 2) : std::string(msg);
}

void embedding_case(int64_t N, int64_t V, int64_t C) {
  const std::string tag = "embedding N=" + std::to_string(N) + " V=" + std::to_string(V) + " C=" + std::to_string(C);
  // ids drawn from a small range: many repeats.
  const std::vector<int32_t> ids = lt::randint((size_t)N, 0, (int32_t)std::min<int64_t>(V, 50));
  const std::vector<float> w = lt::randn((size_t)(V * C)), dout = lt::randn((size_t)(N * C));
  std::vector<float> out((size_t)(N * C)), dw((size_t)(V * C));
  ct::ok("cpu embedding_forward", lmt_embedding_forward(out.data(), ids.data(), w.data(), N, V, C));
  ct::ok("cpu embedding_backward", lmt_embedding_backward(dw.data(), dout.data(), ids.data(), N, V, C));

  ct::Dev<int32_t> gids(ids);
  ct::Dev<float> gw(w), gdout(dout), gout((size_t)(N * C)), gdw(lt::randn((size_t)(V * C)));
  ct::ok("cuda embedding_forward", lmt_cuda_embedding_forward(gout.p, gids.p, gw.p, N, V, C));
  ct::ok("cuda embedding_backward", lmt_cuda_embedding_backward(gdw.p, gdout.p, gids.p, N, V, C));
  lt::expect(tag + " forward bitwise", ct::same(gout.get(), out));
  lt::expect_close(tag + " backward (cleared, repeated ids)", lt::max_err(gdw.get(), dw), 1e-5);
}

void gather_case(int64_t outer, int64_t dim, int64_t inner, int64_t n_idx) {
  const std::string tag = "gather (" + std::to_string(outer) + "," + std::to_string(dim) + "," + std::to_string(inner) +
                          ") n_idx=" + std::to_string(n_idx);
  const std::vector<int32_t> idx = lt::randint((size_t)n_idx, 0, (int32_t)dim);
  const std::vector<float> x = lt::randn((size_t)(outer * dim * inner)), dout = lt::randn((size_t)(outer * n_idx * inner));
  std::vector<float> out((size_t)(outer * n_idx * inner)), dx((size_t)(outer * dim * inner));
  ct::ok("cpu gather", lmt_gather(out.data(), x.data(), idx.data(), outer, dim, inner, n_idx));
  ct::ok("cpu gather_backward", lmt_gather_backward(dx.data(), dout.data(), idx.data(), outer, dim, inner, n_idx));

  ct::Dev<int32_t> gidx(idx);
  ct::Dev<float> gx(x), gdout(dout), gout(out.size()), gdx(lt::randn(dx.size()));
  ct::ok("cuda gather", lmt_cuda_gather(gout.p, gx.p, gidx.p, outer, dim, inner, n_idx));
  ct::ok("cuda gather_backward", lmt_cuda_gather_backward(gdx.p, gdout.p, gidx.p, outer, dim, inner, n_idx));
  lt::expect(tag + " forward bitwise", ct::same(gout.get(), out));
  lt::expect_close(tag + " backward (cleared, repeated idx)", lt::max_err(gdx.get(), dx), 1e-5);
}

}  // namespace

int main() {
  ct::require_device();
  lt::seed();
  embedding_case(512, 1000, 768);
  embedding_case(300, 77, 5);
  embedding_case(1, 3, 1);
  embedding_case(4096, 50257, 64);
  gather_case(3, 17, 5, 40);
  gather_case(7, 100, 1, 333);
  gather_case(1, 5, 1000, 12);
  gather_case(64, 9, 33, 9);

  {
    // Out-of-range ids: LMT_ERR_INDEX, the CPU's message, outputs untouched; the next call
    // (same stream, flag cleared) succeeds.
    const int64_t N = 64, V = 100, C = 8;
    std::vector<int32_t> ids = lt::randint((size_t)N, 0, (int32_t)V);
    const std::vector<float> w = lt::randn((size_t)(V * C)), dout = lt::randn((size_t)(N * C));
    const std::vector<float> sentinel_out = lt::randn((size_t)(N * C)), sentinel_dw = lt::randn((size_t)(V * C));
    for (int32_t bad : {(int32_t)V, -1, 1 << 30}) {
      const std::string tag = "embedding id " + std::to_string(bad);
      ids[37] = bad;
      std::vector<float> hout((size_t)(N * C));
      lmt_status cs = lmt_embedding_forward(hout.data(), ids.data(), w.data(), N, V, C);
      const std::string cpu_msg = tail(lmt_last_error());
      ct::Dev<int32_t> gids(ids);
      ct::Dev<float> gw(w), gdout(dout), gout(sentinel_out), gdw(sentinel_dw);
      lmt_status s = lmt_cuda_embedding_forward(gout.p, gids.p, gw.p, N, V, C);
      lt::expect_status(tag + ": cuda embedding_forward", s, LMT_ERR_INDEX);
      lt::expect(tag + ": same status and message as the CPU (" + cpu_msg + ")",
                 cs == s && tail(lmt_last_error()) == cpu_msg);
      lt::expect(tag + ": forward output untouched", ct::same(gout.get(), sentinel_out));
      lt::expect_status(tag + ": cuda embedding_backward", lmt_cuda_embedding_backward(gdw.p, gdout.p, gids.p, N, V, C), LMT_ERR_INDEX);
      lt::expect(tag + ": backward dweight untouched", ct::same(gdw.get(), sentinel_dw));
    }
    ids[37] = 5;
    std::vector<float> hout((size_t)(N * C));
    lmt_embedding_forward(hout.data(), ids.data(), w.data(), N, V, C);
    ct::Dev<int32_t> gids(ids);
    ct::Dev<float> gw(w), gout((size_t)(N * C));
    lt::expect_status("embedding after the errors", lmt_cuda_embedding_forward(gout.p, gids.p, gw.p, N, V, C), LMT_OK);
    lt::expect("embedding after the errors: correct", ct::same(gout.get(), hout));
    ct::Dev<int32_t> one(std::vector<int32_t>{0});
    lt::expect_status("embedding V=0 (every id out of range)", lmt_cuda_embedding_forward(gout.p, one.p, gw.p, 1, 0, C), LMT_ERR_INDEX);
    lt::expect_status("embedding_backward C=0 still checks ids", lmt_cuda_embedding_backward(nullptr, nullptr, gids.p, N, 3, 0), LMT_ERR_INDEX);
  }
  {
    const int64_t outer = 4, dim = 10, inner = 6, n_idx = 20;
    std::vector<int32_t> idx = lt::randint((size_t)n_idx, 0, (int32_t)dim);
    idx[n_idx - 1] = (int32_t)dim;
    const std::vector<float> x = lt::randn((size_t)(outer * dim * inner)), dout = lt::randn((size_t)(outer * n_idx * inner));
    const std::vector<float> sentinel_out = lt::randn((size_t)(outer * n_idx * inner)), sentinel_dx = lt::randn(x.size());
    ct::Dev<int32_t> gidx(idx);
    ct::Dev<float> gx(x), gdout(dout), gout(sentinel_out), gdx(sentinel_dx);
    lt::expect_status("gather idx == dim", lmt_cuda_gather(gout.p, gx.p, gidx.p, outer, dim, inner, n_idx), LMT_ERR_INDEX);
    lt::expect("gather idx == dim: output untouched", ct::same(gout.get(), sentinel_out));
    lt::expect_status("gather_backward idx == dim", lmt_cuda_gather_backward(gdx.p, gdout.p, gidx.p, outer, dim, inner, n_idx), LMT_ERR_INDEX);
    lt::expect("gather_backward idx == dim: dx untouched", ct::same(gdx.get(), sentinel_dx));
    lt::expect_status("gather outer=0 still checks idx", lmt_cuda_gather(nullptr, nullptr, gidx.p, 0, dim, inner, n_idx), LMT_ERR_INDEX);
    idx[n_idx - 1] = 0;
    ct::Dev<int32_t> good(idx);
    lt::expect_status("gather after the errors", lmt_cuda_gather(gout.p, gx.p, good.p, outer, dim, inner, n_idx), LMT_OK);
  }
  {
    ct::Dev<float> a(8);
    ct::Dev<int32_t> i(std::vector<int32_t>{0, 1});
    lt::expect_status("cuda embedding_forward N=-1", lmt_cuda_embedding_forward(a.p, i.p, a.p, -1, 2, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda embedding_forward null ids", lmt_cuda_embedding_forward(a.p, nullptr, a.p, 2, 2, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda embedding_forward null weight", lmt_cuda_embedding_forward(a.p, i.p, nullptr, 2, 2, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda embedding_backward null dweight", lmt_cuda_embedding_backward(nullptr, a.p, i.p, 2, 2, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda gather dim=-1", lmt_cuda_gather(a.p, a.p, i.p, 1, -1, 1, 2), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda gather n_idx=0 no-op", lmt_cuda_gather(nullptr, nullptr, nullptr, 1, 2, 1, 0), LMT_OK);
    // n_idx = 0: dx is still cleared.
    ct::Dev<float> dx(std::vector<float>{1, 2, 3, 4});
    ct::ok("cuda gather_backward n_idx=0", lmt_cuda_gather_backward(dx.p, nullptr, nullptr, 1, 2, 2, 0));
    lt::expect("cuda gather_backward n_idx=0 clears dx", ct::same(dx.get(), std::vector<float>{0, 0, 0, 0}));
  }
  ct::ok("synchronize", lmt_cuda_synchronize());
  return lt::finish();
}
