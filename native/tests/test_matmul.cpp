// lmt_matmul against the double-precision reference: awkward sizes, all transposes, padded
// leading dimensions, broadcast batch strides, alpha/beta, NaN in C under beta == 0, thread
// invariance, and argument errors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ops_b.h"
#include "test_util.h"

namespace {

// Runs one configuration; returns the error and leaves the kernel's C in `got`.
double run_case(int64_t batch, int64_t M, int64_t N, int64_t K, int ta, int tb, int64_t pad,
                bool bcast_a, bool bcast_b, float alpha, float beta, bool nan_c,
                std::vector<float>* got = nullptr, std::vector<float>* inputs = nullptr) {
  int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  int64_t a_rows = ta ? K : M, b_rows = tb ? N : K;
  int64_t sa = bcast_a ? 0 : a_rows * lda, sb = bcast_b ? 0 : b_rows * ldb, sc = M * ldc;
  std::vector<float> a = lt::randn((size_t)std::max<int64_t>(1, (bcast_a ? 1 : batch) * a_rows * lda));
  std::vector<float> b = lt::randn((size_t)std::max<int64_t>(1, (bcast_b ? 1 : batch) * b_rows * ldb));
  std::vector<float> c = lt::randn((size_t)std::max<int64_t>(1, batch * sc));
  if (inputs) {  // replay the same inputs
    a = inputs[0]; b = inputs[1]; c = inputs[2];
  }
  if (nan_c) for (auto& x : c) x = NAN;
  ref::vec rc = lt::to_double(c);
  ref::matmul(rc, lt::to_double(a), lt::to_double(b), batch, M, N, K, ta, tb, lda, ldb, ldc, sa,
              sb, sc, alpha, beta);
  // The same product on absolute values: the error bound's scale per output. Against max|C|, a
  // 1x1 output whose dot product cancels to ~0 would fail a correct kernel by chance.
  auto absd = [](const std::vector<float>& v) {
    ref::vec o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = std::fabs((double)v[i]);
    return o;
  };
  ref::vec scale = absd(c);
  ref::matmul(scale, absd(a), absd(b), batch, M, N, K, ta, tb, lda, ldb, ldc, sa, sb, sc,
              std::fabs(alpha), std::fabs(beta));
  std::vector<float> out = c;
  lmt_status s = lmt_matmul(out.data(), a.data(), b.data(), batch, M, N, K, ta, tb, lda, ldb,
                            ldc, sa, sb, sc, alpha, beta);
  if (s != LMT_OK) {
    std::printf("lmt_matmul failed: %s\n", lmt_last_error());
    return INFINITY;
  }
  if (got) *got = out;
  return lt::max_scaled_err(out, rc, scale);
}

}  // namespace

int main() {
  lt::seed();
  lmt_set_num_threads(2);
  const int64_t sizes[] = {1, 5, 17, 63, 65, 130, 257};
  double worst[4] = {0, 0, 0, 0};
  int n = 0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      // Every (M, N, K) would be 1372 cases; walk a rotating subset that still hits each size
      // in each position.
      for (int64_t M : sizes)
        for (int64_t N : sizes) {
          int64_t K = sizes[(n++) % 7];
          double e = run_case(1, M, N, K, ta, tb, 0, false, false, 1.0f, 0.0f, false);
          worst[ta * 2 + tb] = std::max(worst[ta * 2 + tb], e);
        }
    }
  for (int t = 0; t < 4; ++t)
    lt::expect_close("matmul M,N,K in {1..257} trans_a=" + std::to_string(t / 2) +
                         " trans_b=" + std::to_string(t % 2),
                     worst[t], 1e-5);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      std::string tag = " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb);
      lt::expect_close("K=1000 (130x67x1000)" + tag,
                       run_case(1, 130, 67, 1000, ta, tb, 0, false, false, 1, 0, false), 1e-5);
      lt::expect_close("lda/ldb/ldc padded by 3, alpha=0.7 beta=-1.3 (65x131x63)" + tag,
                       run_case(1, 65, 131, 63, ta, tb, 3, false, false, 0.7f, -1.3f, false), 1e-5);
      lt::expect_close("batch 3, A broadcast (sa=0) (17x65x13)" + tag,
                       run_case(3, 17, 65, 13, ta, tb, 1, true, false, 1, 1, false), 1e-5);
      lt::expect_close("batch 4, B broadcast (sb=0) (7x13x257)" + tag,
                       run_case(4, 7, 13, 257, ta, tb, 0, false, true, -2, 0.5f, false), 1e-5);
      lt::expect_close("NaN in C with beta=0 (63x65x130)" + tag,
                       run_case(2, 63, 65, 130, ta, tb, 2, false, false, 1.5f, 0, true), 1e-5);
    }
  lt::expect_close("K=0: C = beta*C (5x7x0)", run_case(1, 5, 7, 0, 0, 0, 0, false, false, 1, 0.5f, false), 1e-6);
  lt::expect_close("K=0, beta=0, NaN C -> zeros", run_case(1, 5, 7, 0, 0, 0, 0, false, false, 1, 0, true), 0);
  lt::expect_close("alpha=0 beta=2", run_case(2, 13, 17, 5, 1, 0, 0, false, false, 0, 2, false), 1e-6);
  lt::expect_close("large 300x517x300", run_case(1, 300, 517, 300, 0, 1, 0, false, false, 1, 0, false), 1e-5);

  // Thread invariance: the tile split changes with the thread count, the sums must not.
  {
    std::vector<float> in[3] = {lt::randn(260 * 300), lt::randn(300 * 390), lt::randn(260 * 390)};
    std::vector<float> g1, g2;
    lmt_set_num_threads(1);
    run_case(1, 260, 390, 300, 0, 0, 0, false, false, 1, 0.5f, false, &g1, in);
    lmt_set_num_threads(2);
    run_case(1, 260, 390, 300, 0, 0, 0, false, false, 1, 0.5f, false, &g2, in);
    lt::expect("1 and 2 threads give bitwise-identical C (260x390x300)",
               g1.size() == g2.size() && std::memcmp(g1.data(), g2.data(), g1.size() * 4) == 0);
  }

  float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, c[4];
  lt::expect_status("null c", lmt_matmul(nullptr, a, b, 1, 2, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("null a", lmt_matmul(c, nullptr, b, 1, 2, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("negative M", lmt_matmul(c, a, b, 1, -1, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("negative batch", lmt_matmul(c, a, b, -1, 2, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("lda < K", lmt_matmul(c, a, b, 1, 2, 2, 2, 0, 0, 1, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("ldb < K when trans_b", lmt_matmul(c, a, b, 1, 2, 1, 2, 0, 1, 2, 1, 1, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("ldc < N", lmt_matmul(c, a, b, 1, 2, 2, 2, 0, 0, 2, 2, 1, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("trans_a = 2", lmt_matmul(c, a, b, 1, 2, 2, 2, 2, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("negative sa", lmt_matmul(c, a, b, 1, 2, 2, 2, 0, 0, 2, 2, 2, -4, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("sc = 0 with batch 2", lmt_matmul(c, a, b, 2, 1, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_ERR_INVALID_ARG);
  lt::expect_status("M = 0 is a no-op, null pointers allowed", lmt_matmul(nullptr, nullptr, nullptr, 1, 0, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0, 1, 0), LMT_OK);
  return lt::finish();
}
