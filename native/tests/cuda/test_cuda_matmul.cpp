// CUDA matmul vs the CPU kernel: fp32 (every transpose, odd sizes, strides, broadcast batch,
// alpha/beta, NaN in C with beta = 0), the bf16 precision mode for fp32 tensors (against the
// CPU product of bf16-rounded inputs), and lmt_cuda_matmul_bf16 (aligned in place, unaligned
// packed, bf16 output).
#include <cstring>

#include "cuda_test_util.h"

namespace {

using ct::from_bf16;
using ct::round_bf16;
using ct::to_bf16;

// The bf16 kernel under test, in the case names ("" for the default).
const char* g_tag = "";

// fp32 -> tf32 value (10 mantissa bits), round to nearest, ties away from zero (cvt.rna).
float to_tf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u += 0x1000u;
  u &= 0xffffe000u;
  std::memcpy(&f, &u, 4);
  return f;
}
std::vector<float> round_tf32(const std::vector<float>& v) {
  std::vector<float> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = to_tf32(v[i]);
  return o;
}
struct Case {
  int64_t batch, M, N, K;
  int ta, tb;
  int64_t pad;  // extra elements per stored row
  bool bshared;
  float alpha, beta;
};

void run(const Case& c, int precision, double tol) {
  int64_t ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K, br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;
  int64_t lda = ac + c.pad, ldb = bc + c.pad, ldc = c.N + c.pad;
  int64_t sa = ar * lda, sb = c.bshared ? 0 : br * ldb, sc = c.M * ldc;
  auto a = lt::randn((size_t)(c.batch * sa));
  auto b = lt::randn((size_t)((c.bshared ? 1 : c.batch) * br * ldb));
  auto cc = lt::randn((size_t)(c.batch * sc));
  if (c.beta == 0.f) cc[0] = NAN;  // must not propagate
  std::vector<float> ra = precision == LMT_PREC_BF16 ? round_bf16(a) : precision == LMT_PREC_TF32 ? round_tf32(a) : a;
  std::vector<float> rb = precision == LMT_PREC_BF16 ? round_bf16(b) : precision == LMT_PREC_TF32 ? round_tf32(b) : b;
  std::vector<float> ref = cc;
  lmt_matmul(ref.data(), ra.data(), rb.data(), c.batch, c.M, c.N, c.K, c.ta, c.tb, lda, ldb, ldc, sa, sb, sc,
             c.alpha, c.beta);
  ct::Dev<float> da(a), db(b), dc(cc);
  lmt_cuda_set_matmul_precision(precision);
  char what[200];
  std::snprintf(what, sizeof what, "matmul%s %s b%lld %lldx%lldx%lld t%d%d pad%lld%s a%.1f b%.1f",
                g_tag, precision == LMT_PREC_BF16 ? "bf16" : precision == LMT_PREC_TF32 ? "tf32" : "fp32", (long long)c.batch, (long long)c.M, (long long)c.N,
                (long long)c.K, c.ta, c.tb, (long long)c.pad, c.bshared ? " shared" : "", c.alpha, c.beta);
  if (!ct::ok(what, lmt_cuda_matmul(dc.p, da.p, db.p, c.batch, c.M, c.N, c.K, c.ta, c.tb, lda, ldb, ldc, sa, sb,
                                    sc, c.alpha, c.beta)))
    return;
  lt::expect_close(what, lt::max_err(dc.get(), ref), tol);
  lmt_cuda_set_matmul_precision(LMT_PREC_FP32);
}

void run_bf16(int64_t M, int64_t N, int64_t K, int ta, int tb, int c_bf16, int64_t batch, float beta) {
  int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  auto a = round_bf16(lt::randn((size_t)(batch * ar * ac)));
  auto b = round_bf16(lt::randn((size_t)(batch * br * bc)));
  auto cc = round_bf16(lt::randn((size_t)(batch * M * N)));
  std::vector<float> ref = cc;
  lmt_matmul(ref.data(), a.data(), b.data(), batch, M, N, K, ta, tb, ac, bc, N, ar * ac, br * bc, M * N, 1.0f, beta);
  std::vector<uint16_t> ha(a.size()), hb(b.size()), hc(cc.size());
  for (size_t i = 0; i < a.size(); ++i) ha[i] = to_bf16(a[i]);
  for (size_t i = 0; i < b.size(); ++i) hb[i] = to_bf16(b[i]);
  for (size_t i = 0; i < cc.size(); ++i) hc[i] = to_bf16(cc[i]);
  ct::Dev<uint16_t> da(ha), db(hb);
  char what[200];
  std::snprintf(what, sizeof what, "matmul_bf16%s b%lld %lldx%lldx%lld t%d%d out %s beta %.1f", g_tag, (long long)batch,
                (long long)M, (long long)N, (long long)K, ta, tb, c_bf16 ? "bf16" : "fp32", beta);
  std::vector<float> got;
  if (c_bf16) {
    ct::Dev<uint16_t> dc(hc);
    if (!ct::ok(what, lmt_cuda_matmul_bf16(dc.p, 1, da.p, db.p, batch, M, N, K, ta, tb, ac, bc, N, ar * ac, br * bc,
                                           M * N, 1.0f, beta)))
      return;
    auto h = dc.get();
    for (auto x : h) got.push_back(from_bf16(x));
    lt::expect_close(what, lt::max_err(got, ref), 1e-2);  // bf16 output rounding: 2^-8
  } else {
    ct::Dev<float> dc(cc);
    if (!ct::ok(what, lmt_cuda_matmul_bf16(dc.p, 0, da.p, db.p, batch, M, N, K, ta, tb, ac, bc, N, ar * ac, br * bc,
                                           M * N, 1.0f, beta)))
      return;
    lt::expect_close(what, lt::max_err(dc.get(), ref), 2e-5);
  }
}

}  // namespace

int main() {
  ct::require_device();
  const Case cases[] = {
      {1, 1, 1, 1, 0, 0, 0, false, 1.f, 0.f},
      {1, 37, 53, 29, 0, 0, 0, false, 1.f, 0.f},
      {1, 37, 53, 29, 1, 0, 0, false, 1.f, 0.f},
      {1, 37, 53, 29, 0, 1, 0, false, 1.f, 0.f},
      {1, 37, 53, 29, 1, 1, 0, false, 1.f, 0.f},
      {3, 130, 257, 70, 0, 1, 3, false, 0.5f, 1.f},
      {4, 129, 65, 300, 1, 0, 0, true, 1.f, 0.f},
      {2, 256, 384, 128, 0, 0, 0, false, 1.f, 0.25f},
      {1, 512, 768, 768, 0, 1, 0, false, 1.f, 0.f},
      {1, 768, 768, 512, 1, 0, 0, false, 1.f, 1.f},
      {5, 64, 64, 64, 1, 1, 5, false, 2.f, 0.f},
      {1, 1000, 3, 1000, 0, 0, 0, false, 1.f, 0.f},
  };
  for (const Case& c : cases) run(c, LMT_PREC_FP32, 2e-5);
  for (const Case& c : cases) run(c, LMT_PREC_TF32, 2e-5);
  // bf16 products: on compute capability 9.0 with sm_90a code in the binary (the emulation
  // counts as such) the default is the wgmma kernel, which must have passed its self-check;
  // elsewhere the mma.sync kernel. Both kernels run every bf16 case where both exist.
  const char* archs = "";
  lmt_cuda_runtime_version(&archs);
  lmt_cuda_device_facts f{};
  lmt_cuda_device_info(0, &f);
  const bool hopper = f.major == 9 && f.minor == 0 &&
                      (std::strstr(archs, "90a") != nullptr || std::strcmp(archs, "emulated") == 0);
  const int in_use = lmt_cuda_gemm_kernel();
  std::printf("bf16 GEMM kernel: %s (binary archs: %s, device cc %d.%d)\n",
              in_use == 2 ? "wgmma (sm_90a)" : in_use == 1 ? "mma.sync" : "none", archs, f.major, f.minor);
  lt::expect("bf16 GEMM kernel is wgmma on an sm_90 device with sm_90a code (its self-check passed)",
             in_use == (hopper ? 2 : f.major >= 8 ? 1 : 0));
  for (int kernel : {0, 1}) {
    if (kernel == 1 && in_use != 2) continue;  // auto already was mma.sync
    lmt_cuda_set_gemm_kernel(kernel);
    g_tag = kernel == 1 ? " [mma.sync]" : in_use == 2 ? " [wgmma]" : "";
    for (const Case& c : cases) run(c, LMT_PREC_BF16, 1e-4);
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        run_bf16(256, 512, 128, ta, tb, 0, 1, 0.f);  // aligned: used in place
        run_bf16(100, 77, 45, ta, tb, 0, 2, 1.f);    // unaligned: packed
        run_bf16(128, 256, 64, ta, tb, 1, 3, 0.f);   // bf16 output
        run_bf16(64, 48, 0, ta, tb, 0, 1, 0.5f);     // no product: C = beta C
      }
  }
  lmt_cuda_set_gemm_kernel(0);
  lt::expect_status("gemm kernel 5", lmt_cuda_set_gemm_kernel(5), LMT_ERR_INVALID_ARG);
  // K = 0 and alpha = 0: C = beta * C (beta = 0 clears, even NaN).
  run({2, 33, 17, 0, 0, 0, 0, false, 1.f, 0.5f}, LMT_PREC_FP32, 0);
  run({2, 33, 17, 9, 0, 0, 0, false, 0.f, 0.f}, LMT_PREC_FP32, 0);
  // Bad arguments: the same statuses as the CPU kernel.
  ct::Dev<float> d1(16);
  lt::expect_status("negative M", lmt_cuda_matmul(d1.p, d1.p, d1.p, 1, -1, 4, 4, 0, 0, 4, 4, 4, 0, 0, 0, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("lda too small", lmt_cuda_matmul(d1.p, d1.p, d1.p, 1, 4, 4, 4, 0, 0, 3, 4, 4, 0, 0, 0, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("precision 7", lmt_cuda_set_matmul_precision(7), LMT_ERR_INVALID_ARG);
  lt::expect_status("synchronize", lmt_cuda_synchronize(), LMT_OK);
  return lt::finish();
}
