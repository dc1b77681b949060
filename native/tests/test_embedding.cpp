// Embedding lookup / scatter-add and axis gather / adjoint against the reference, with
// repeated ids, thread invariance, and out-of-range ids rejected before anything is written.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ops_b.h"
#include "test_util.h"

int main() {
  lt::seed();
  lmt_set_num_threads(2);
  for (int64_t N : {1, 7, 257})
    for (int64_t V : {1, 13, 131})
      for (int64_t C : {1, 5, 67}) {
        std::string tag = "(N=" + std::to_string(N) + ", V=" + std::to_string(V) + ", C=" + std::to_string(C) + ")";
        auto ids = lt::randint(N, 0, V);  // N > V forces repeats
        auto w = lt::randn(V * C), g = lt::randn(N * C);
        std::vector<float> out(N * C), dw(V * C, NAN);
        lmt_status s1 = lmt_embedding_forward(out.data(), ids.data(), w.data(), N, V, C);
        lmt_status s2 = lmt_embedding_backward(dw.data(), g.data(), ids.data(), N, V, C);
        ref::vec rout, rdw;
        ref::embedding_forward(rout, ids, lt::to_double(w), N, V, C);
        ref::embedding_backward(rdw, lt::to_double(g), ids, N, V, C);
        // A row of dweight sums up to N gradients, whose total can cancel to near zero: the
        // error is measured against the sum of their magnitudes (the same scatter of |g|), the
        // scale a float sum's rounding is proportional to.
        std::vector<double> gabs(g.size());
        for (size_t i = 0; i < g.size(); ++i) gabs[i] = std::fabs(g[i]);
        ref::vec rmag;
        ref::embedding_backward(rmag, gabs, ids, N, V, C);
        double scale = 0, err = 0;
        for (size_t i = 0; i < rdw.size(); ++i) {
          scale = std::fmax(scale, rmag[i]);
          err = std::fmax(err, std::fabs(dw[i] - rdw[i]));
        }
        lt::expect_close("embedding_forward " + tag, s1 == LMT_OK ? lt::max_err(out, rout) : INFINITY, 0);
        lt::expect_close("embedding_backward " + tag, s2 == LMT_OK ? err / scale : INFINITY, 1e-6);
      }
  for (int64_t outer : {1, 5})
    for (int64_t dim : {1, 13})
      for (int64_t inner : {1, 7, 2049})
        for (int64_t n_idx : {1, 17}) {
          std::string tag = "(outer=" + std::to_string(outer) + ", dim=" + std::to_string(dim) +
                            ", inner=" + std::to_string(inner) + ", n_idx=" + std::to_string(n_idx) + ")";
          auto idx = lt::randint(n_idx, 0, dim);
          auto x = lt::randn(outer * dim * inner), g = lt::randn(outer * n_idx * inner);
          std::vector<float> out(outer * n_idx * inner), dx(outer * dim * inner, NAN);
          lmt_status s1 = lmt_gather(out.data(), x.data(), idx.data(), outer, dim, inner, n_idx);
          lmt_status s2 = lmt_gather_backward(dx.data(), g.data(), idx.data(), outer, dim, inner, n_idx);
          ref::vec rout, rdx;
          ref::gather(rout, lt::to_double(x), idx, outer, dim, inner, n_idx);
          ref::gather_backward(rdx, lt::to_double(g), idx, outer, dim, inner, n_idx);
          // As for the embedding: error against the scatter of |g| (sums that cancel).
          std::vector<double> gabs(g.size());
          for (size_t i = 0; i < g.size(); ++i) gabs[i] = std::fabs(g[i]);
          ref::vec rmag;
          ref::gather_backward(rmag, gabs, idx, outer, dim, inner, n_idx);
          double scale = 0, err = 0;
          for (size_t i = 0; i < rdx.size(); ++i) {
            scale = std::fmax(scale, rmag[i]);
            err = std::fmax(err, std::fabs(dx[i] - rdx[i]));
          }
          lt::expect_close("gather " + tag, s1 == LMT_OK ? lt::max_err(out, rout) : INFINITY, 0);
          lt::expect_close("gather_backward " + tag, s2 == LMT_OK ? err / scale : INFINITY, 1e-6);
        }

  {  // thread invariance of the scatter-adds
    const int64_t N = 4099, V = 37, C = 33;
    auto ids = lt::randint(N, 0, V);
    auto g = lt::randn(N * C);
    std::vector<float> dw[2];
    for (int t = 0; t < 2; ++t) {
      lmt_set_num_threads(t + 1);
      dw[t].assign(V * C, 0);
      lmt_embedding_backward(dw[t].data(), g.data(), ids.data(), N, V, C);
    }
    lt::expect("embedding_backward: 1 and 2 threads bitwise equal", dw[0] == dw[1]);
    lmt_set_num_threads(2);
  }

  float w[6] = {1, 2, 3, 4, 5, 6}, out[6] = {7, 7, 7, 7, 7, 7};
  int32_t bad[3] = {0, 2, 3};
  lt::expect_status("embedding_forward id 3 with V=3", lmt_embedding_forward(out, bad, w, 3, 3, 2), LMT_ERR_INDEX);
  lt::expect("error names position and value", std::strstr(lmt_last_error(), "ids[2] = 3") != nullptr);
  bool untouched = true;
  for (float v : out) untouched = untouched && v == 7;
  lt::expect("nothing written before the id check fails", untouched);
  int32_t neg[2] = {1, -1};
  lt::expect_status("embedding_forward negative id", lmt_embedding_forward(out, neg, w, 2, 3, 2), LMT_ERR_INDEX);
  lt::expect_status("embedding_backward id out of range", lmt_embedding_backward(out, w, bad, 3, 3, 2), LMT_ERR_INDEX);
  untouched = true;
  for (float v : out) untouched = untouched && v == 7;
  lt::expect("embedding_backward: dweight untouched on LMT_ERR_INDEX", untouched);
  lt::expect_status("gather idx out of range", lmt_gather(out, w, bad, 1, 3, 2, 3), LMT_ERR_INDEX);
  lt::expect("gather error names position and value", std::strstr(lmt_last_error(), "idx[2] = 3") != nullptr);
  lt::expect_status("gather_backward idx out of range", lmt_gather_backward(out, w, bad, 1, 3, 2, 3), LMT_ERR_INDEX);
  lt::expect_status("embedding_forward null ids", lmt_embedding_forward(out, nullptr, w, 3, 3, 2), LMT_ERR_INVALID_ARG);
  lt::expect_status("embedding_forward null weight", lmt_embedding_forward(out, bad, nullptr, 2, 3, 2), LMT_ERR_INVALID_ARG);
  lt::expect_status("embedding_forward negative C", lmt_embedding_forward(out, bad, w, 2, 3, -2), LMT_ERR_INVALID_ARG);
  lt::expect_status("gather negative outer", lmt_gather(out, w, bad, -1, 3, 2, 2), LMT_ERR_INVALID_ARG);
  lt::expect_status("embedding_forward N=0 no-op", lmt_embedding_forward(nullptr, nullptr, nullptr, 0, 3, 2), LMT_OK);
  return lt::finish();
}
