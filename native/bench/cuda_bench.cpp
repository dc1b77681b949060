// CUDA kernel timings without Node (`build/lmt_cuda_bench [quick]`), one JSON object per line
// on stdout: {"kernel","shape","dtype","ms","tflops"|"gbps"}. scripts/gpu-check.sh runs it next
// to bench/torch_cuda.py (the same shapes in PyTorch: cuBLAS, flash SDPA) and prints ratios.
// Timing: warm-up, then the median of several timed batches, each batch ended by a
// synchronize (host clock; every case runs for at least ~20 ms per batch).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "lmt/lmt.h"
#include "lmt/lmt_cuda.h"

namespace {

bool g_quick = false;

void die(const char* what) {
  std::fprintf(stderr, "lmt_cuda_bench: %s: %s\n", what, lmt_last_error());
  std::exit(1);
}
void ok(lmt_status s, const char* what) {
  if (s != LMT_OK) die(what);
}

void* dalloc(size_t bytes) {
  void* p = nullptr;
  ok(lmt_cuda_malloc(&p, bytes), "lmt_cuda_malloc");
  return p;
}
float* drandn(size_t n, float std, uint64_t seed) {
  float* p = (float*)dalloc(n * 4);
  ok(lmt_cuda_fill_normal(p, (int64_t)n, 0.f, std, seed, 0), "fill_normal");
  return p;
}

// Median milliseconds per call of fn.
double time_ms(const std::function<void()>& fn) {
  fn();
  ok(lmt_cuda_synchronize(), "warm-up");
  auto t0 = std::chrono::steady_clock::now();
  fn();
  ok(lmt_cuda_synchronize(), "probe");
  double one = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  int reps = std::max(1, std::min(200, (int)(20.0 / std::max(one, 1e-3))));
  int batches = g_quick ? 3 : 5;
  std::vector<double> per;
  for (int b = 0; b < batches; ++b) {
    auto s = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) fn();
    ok(lmt_cuda_synchronize(), "timed batch");
    per.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count() / reps);
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

// The implementation named in matmul records: the bf16 GEMM kernel in use.
const char* g_impl = nullptr;

void emit(const char* kernel, const std::string& shape, const char* dtype, double ms, double flops, double bytes) {
  std::printf("{\"kernel\":\"%s\",\"shape\":\"%s\",\"dtype\":\"%s\",\"ms\":%.4f", kernel, shape.c_str(), dtype, ms);
  if (g_impl) std::printf(",\"impl\":\"%s\"", g_impl);
  if (flops > 0) std::printf(",\"tflops\":%.2f", flops / (ms * 1e-3) / 1e12);
  if (bytes > 0) std::printf(",\"gbps\":%.1f", bytes / (ms * 1e-3) / 1e9);
  std::printf("}\n");
  std::fflush(stdout);
}

// C (M,N) = A (M,K) op(B); tb: B stored (N,K) as a linear layer's weight.
void bench_matmul(const char* dtype, int64_t M, int64_t N, int64_t K, int tb) {
  std::string shape = std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + (tb ? " NT" : " NN");
  double flops = 2.0 * M * N * K;
  float* a = drandn((size_t)(M * K), 1.f, 1);
  float* b = drandn((size_t)(K * N), 1.f, 2);
  if (!std::strcmp(dtype, "bf16")) {
    uint16_t* ah = (uint16_t*)dalloc((size_t)(M * K) * 2);
    uint16_t* bh = (uint16_t*)dalloc((size_t)(K * N) * 2);
    uint16_t* ch = (uint16_t*)dalloc((size_t)(M * N) * 2);
    ok(lmt_cuda_cast_f32_bf16(ah, a, M * K), "cast");
    ok(lmt_cuda_cast_f32_bf16(bh, b, K * N), "cast");
    double ms = time_ms([&] {
      ok(lmt_cuda_matmul_bf16(ch, 1, ah, bh, 1, M, N, K, 0, tb, K, tb ? K : N, N, 0, 0, 0, 1.f, 0.f), "matmul_bf16");
    });
    emit("matmul", shape, "bf16", ms, flops, 0);
    lmt_cuda_free(ah, (size_t)(M * K) * 2);
    lmt_cuda_free(bh, (size_t)(K * N) * 2);
    lmt_cuda_free(ch, (size_t)(M * N) * 2);
  } else {
    float* c = (float*)dalloc((size_t)(M * N) * 4);
    int prec = !std::strcmp(dtype, "fp32-as-bf16") ? LMT_PREC_BF16 : !std::strcmp(dtype, "fp32-as-tf32") ? LMT_PREC_TF32 : LMT_PREC_FP32;
    ok(lmt_cuda_set_matmul_precision(prec), "precision");
    double ms = time_ms([&] {
      ok(lmt_cuda_matmul(c, a, b, 1, M, N, K, 0, tb, K, tb ? K : N, N, 0, 0, 0, 1.f, 0.f), "matmul");
    });
    ok(lmt_cuda_set_matmul_precision(LMT_PREC_FP32), "precision");
    emit("matmul", shape, dtype, ms, flops, 0);
    lmt_cuda_free(c, (size_t)(M * N) * 4);
  }
  lmt_cuda_free(a, (size_t)(M * K) * 4);
  lmt_cuda_free(b, (size_t)(K * N) * 4);
}

// dtype "fp32": the fp32 SIMT kernels; "bf16": the same fp32 tensors at the BF16 precision,
// which runs the tensor-core kernels (attention_mma.cu).
void bench_attention(const char* dtype, int64_t B, int64_t NH, int64_t T, int64_t HS) {
  size_t n = (size_t)(B * NH * T * HS);
  float *q = drandn(n, 1.f, 3), *k = drandn(n, 1.f, 4), *v = drandn(n, 1.f, 5), *g = drandn(n, 1.f, 6);
  float *o = (float*)dalloc(n * 4), *lse = (float*)dalloc((size_t)(B * NH * T) * 4);
  float *dq = (float*)dalloc(n * 4), *dk = (float*)dalloc(n * 4), *dv = (float*)dalloc(n * 4);
  float scale = 1.f / std::sqrt((float)HS);
  std::string shape = "B" + std::to_string(B) + " H" + std::to_string(NH) + " T" + std::to_string(T) + " D" +
                      std::to_string(HS) + " causal";
  // Causal attention FLOPs as FlashAttention counts them: 4 B H T^2 D / 2 forward, 2.5x that
  // for backward.
  double fwd_flops = 4.0 * B * NH * T * T * HS / 2;
  const int prec = std::strcmp(dtype, "bf16") == 0 ? LMT_PREC_BF16 : LMT_PREC_FP32;
  ok(lmt_cuda_set_matmul_precision(prec), "set precision");
  double ms_f = time_ms([&] {
    ok(lmt_cuda_attention_forward(o, lse, q, k, v, nullptr, nullptr, B, NH, T, T, HS, 1, 1, scale), "attn fwd");
  });
  emit("attention_fwd", shape, dtype, ms_f, fwd_flops, 0);
  double ms_fb = time_ms([&] {
    ok(lmt_cuda_attention_forward(o, lse, q, k, v, nullptr, nullptr, B, NH, T, T, HS, 1, 1, scale), "attn fwd");
    ok(lmt_cuda_attention_backward(dq, dk, dv, nullptr, g, q, k, v, o, lse, nullptr, nullptr, B, NH, T, T, HS, 1, 1,
                                   scale),
       "attn bwd");
  });
  emit("attention_fwd_bwd", shape, dtype, ms_fb, fwd_flops * 3.5, 0);
  ok(lmt_cuda_set_matmul_precision(LMT_PREC_FP32), "set precision");
  for (float* p : {q, k, v, g, o, dq, dk, dv}) lmt_cuda_free(p, n * 4);
  lmt_cuda_free(lse, (size_t)(B * NH * T) * 4);
}

void bench_memory() {
  const int64_t N = 8192, C = 768, V = 50257;
  {
    float *x = drandn((size_t)(N * C), 1.f, 7), *out = (float*)dalloc((size_t)(N * C) * 4);
    float *w = drandn((size_t)C, 1.f, 8), *bi = drandn((size_t)C, 1.f, 9);
    float *mean = (float*)dalloc((size_t)N * 4), *rstd = (float*)dalloc((size_t)N * 4);
    double ms = time_ms([&] { ok(lmt_cuda_layernorm_forward(out, mean, rstd, x, w, bi, N, C, 1e-5f), "layernorm"); });
    emit("layernorm_fwd", "8192x768", "fp32", ms, 0, 2.0 * N * C * 4);
    ms = time_ms([&] { ok(lmt_cuda_gelu_forward(out, x, N * C), "gelu"); });
    emit("gelu_fwd", "8192x768", "fp32", ms, 0, 2.0 * N * C * 4);
  }
  {
    int64_t rows = g_quick ? 1024 : N;
    float* logits = drandn((size_t)(rows * V), 1.f, 10);
    float* dlogits = (float*)dalloc((size_t)(rows * V) * 4);
    float *losses = (float*)dalloc((size_t)rows * 4), *lse = (float*)dalloc((size_t)rows * 4);
    float* dl = (float*)dalloc((size_t)rows * 4);
    ok(lmt_cuda_fill(dl, 1.f / rows, rows), "fill");
    int32_t* tg = (int32_t*)dalloc((size_t)rows * 4);
    std::vector<int32_t> ht((size_t)rows);
    for (int64_t i = 0; i < rows; ++i) ht[i] = (int32_t)((i * 7919) % V);
    ok(lmt_cuda_memcpy_h2d(tg, ht.data(), (size_t)rows * 4), "h2d");
    double ms = time_ms([&] {
      ok(lmt_cuda_cross_entropy_forward(losses, lse, logits, tg, rows, V, -100, 0.f), "ce fwd");
      ok(lmt_cuda_cross_entropy_backward(dlogits, dl, logits, lse, tg, rows, V, -100, 0.f), "ce bwd");
    });
    // forward reads the logits; backward reads them and writes dlogits.
    emit("cross_entropy_fwd_bwd", std::to_string(rows) + "x50257", "fp32", ms, 0, 3.0 * rows * V * 4);
  }
  {
    const int64_t P = 124000000;
    float *p = drandn((size_t)P, 0.02f, 11), *g = drandn((size_t)P, 0.01f, 12);
    float *m = (float*)dalloc((size_t)P * 4), *v = (float*)dalloc((size_t)P * 4);
    ok(lmt_cuda_fill(m, 0.f, P), "fill");
    ok(lmt_cuda_fill(v, 0.f, P), "fill");
    float* ps[1] = {p};
    float* ms_[1] = {m};
    float* vs[1] = {v};
    const float* gs[1] = {g};
    int64_t sz[1] = {P};
    uint8_t dec[1] = {1};
    int64_t step = 1;
    double ms = time_ms([&] {
      ok(lmt_cuda_adamw_step(ps, ms_, vs, gs, sz, dec, 1, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.1f, step++, 1.f), "adamw");
    });
    // reads p, m, v, g; writes p, m, v
    emit("adamw", "124M params", "fp32", ms, 0, 7.0 * P * 4);
    float* buf = (float*)dalloc((size_t)P * 4);
    ms = time_ms([&] { ok(lmt_cuda_memcpy_d2d(buf, p, (size_t)P * 4), "d2d"); });
    emit("copy_d2d", "124M floats", "fp32", ms, 0, 2.0 * P * 4);
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) g_quick = g_quick || !std::strcmp(argv[i], "quick");
  const char* why = "";
  if (lmt_cuda_device_count(&why) <= 0) {
    std::fprintf(stderr, "lmt_cuda_bench: no usable CUDA device: %s\n", why);
    return 2;
  }
  // gpt2-124m training shapes: B*T = 8*1024 rows; qkv, attention proj, MLP up, MLP down, head.
  const int64_t R = 8192;
  // bf16 products run on the kernel lmt_cuda_gemm_kernel names (wgmma on an H100/H200 with
  // sm_90a code, after its self-check); there the mma.sync kernel is timed too, for comparison.
  const int gk = lmt_cuda_gemm_kernel();
  g_impl = gk == 2 ? "wgmma" : gk == 1 ? "mma.sync" : "fp32 fallback";
  bench_matmul("bf16", 4096, 4096, 4096, 0);
  bench_matmul("bf16", 4096, 4096, 4096, 1);
  if (gk == 2) {
    ok(lmt_cuda_set_gemm_kernel(1), "gemm kernel");
    g_impl = "mma.sync";
    bench_matmul("bf16", 4096, 4096, 4096, 0);
    bench_matmul("bf16", 4096, 4096, 4096, 1);
    bench_matmul("fp32-as-bf16", 4096, 4096, 4096, 0);
    ok(lmt_cuda_set_gemm_kernel(0), "gemm kernel");
    g_impl = "wgmma";
  }
  bench_matmul("bf16", R, 2304, 768, 1);
  bench_matmul("bf16", R, 768, 768, 1);
  bench_matmul("bf16", R, 3072, 768, 1);
  bench_matmul("bf16", R, 768, 3072, 1);
  if (!g_quick) bench_matmul("bf16", R, 50257, 768, 1);
  bench_matmul("fp32-as-bf16", 4096, 4096, 4096, 0);
  g_impl = nullptr;
  bench_matmul("fp32", 4096, 4096, 4096, 0);
  bench_matmul("fp32-as-tf32", 4096, 4096, 4096, 0);
  for (const char* dt : {"bf16", "fp32"}) {
    bench_attention(dt, 8, 12, 1024, 64);
    bench_attention(dt, 8, 12, 256, 64);
  }
  bench_memory();
  return 0;
}
