// Kernel benchmarks (lmt_bench_kernels in lmt.h): each figure is printed next to a reference
// measured in the same run on the same machine, so ratios survive a noisy, shared host.
//
// - peak: a register-resident FMA loop (widest ISA the CPU has), per thread count;
// - copy: a plain large memcpy, the memory-bandwidth reference for the bandwidth-bound kernels;
// - gemm: lmt_matmul against OpenBLAS's cblas_sgemm when libopenblas can be dlopen'ed (it is
//   never linked: no runtime dependency), else against a naive triple loop;
// - attention: the fused forward+backward against the unfused path built from our own
//   kernels (matmul, softmax, matmul);
// - memory: layernorm, GELU, softmax, cross-entropy, AdamW, embedding in GB/s against copy.
//
// Times are medians over repetitions (after one warm-up run). Records go to a callback as one
// JSON object each: {kernel, layout, shape, threads, seconds, gflops|gbps, ref, ref_gflops|
// ref_gbps, ratio, ...}.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <dlfcn.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LMT_X86 1
#endif

#include "core.h"
#include "lmt/lmt.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Opts {
  bool quick = false;
  bool progress = false;
  bool peak = true, copy = true, gemm = true, attention = true, memory = true;
  std::vector<int> threads;
  double target = 0.25;  // seconds of repetitions per measurement
};

Opts parse(const char* spec) {
  Opts o;
  std::string s = spec ? spec : "";
  bool any_suite = false;
  std::vector<std::string> toks;
  size_t at = 0;
  while (at <= s.size()) {
    size_t e = s.find(',', at);
    if (e == std::string::npos) e = s.size();
    if (e > at) toks.push_back(s.substr(at, e - at));
    at = e + 1;
  }
  for (auto& t : toks) {
    if (t == "peak" || t == "copy" || t == "gemm" || t == "attention" || t == "memory") any_suite = true;
  }
  if (any_suite) o.peak = o.copy = o.gemm = o.attention = o.memory = false;
  for (auto& t : toks) {
    if (t == "quick") o.quick = true;
    else if (t == "progress") o.progress = true;
    else if (t == "peak") o.peak = true;
    else if (t == "copy") o.copy = true;
    else if (t == "gemm") o.gemm = true;
    else if (t == "attention") o.attention = true;
    else if (t == "memory") o.memory = true;
    else if (t.rfind("threads=", 0) == 0) {
      int n = std::atoi(t.c_str() + 8);
      if (n >= 1 && n <= 1024) o.threads.push_back(n);
    }
  }
  if (o.quick) o.target = 0.06;
  return o;
}

/** Median seconds of fn over repetitions filling about `target` seconds (3..51 of them). */
double time_median(const std::function<void()>& fn, double target) {
  auto t0 = Clock::now();
  fn();  // warm-up (page faults, packing buffers, lazy pools)
  double first = std::chrono::duration<double>(Clock::now() - t0).count();
  int reps = (int)std::clamp(target / std::max(first, 1e-7), 3.0, 51.0);
  std::vector<double> ts(reps);
  for (int r = 0; r < reps; ++r) {
    auto a = Clock::now();
    fn();
    ts[r] = std::chrono::duration<double>(Clock::now() - a).count();
  }
  std::sort(ts.begin(), ts.end());
  return ts[reps / 2];
}

std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// JSON numbers: non-finite values become null.
std::string num(double v) { return std::isfinite(v) ? fmt("%.6g", v) : std::string("null"); }

// ---- peak: independent FMA chains that never touch memory ---------------------------------

#ifdef LMT_X86
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  __m512 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(1.0f + 0.01f * j);
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm512_fmadd_ps(a[j], b, c);
  __m512 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, a[j]);
  float o[16];
  _mm512_storeu_ps(o, s);
  float t = 0;
  for (float x : o) t += x;
  return t;
}
__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  __m256 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm256_set1_ps(1.0f + 0.01f * j);
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm256_fmadd_ps(a[j], b, c);
  __m256 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, a[j]);
  float o[8];
  _mm256_storeu_ps(o, s);
  return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}
#endif

float fma_loop_scalar(int64_t iters) {
  float a[8];
  for (int j = 0; j < 8; ++j) a[j] = 1.0f + 0.01f * j;
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 8; ++j) a[j] = a[j] * 0.999999f + 1e-6f;
  float s = 0;
  for (float x : a) s += x;
  return s;
}

struct Isa { const char* name; int lanes; int chains; float (*fn)(int64_t); };

std::vector<Isa> isas() {
  std::vector<Isa> v;
#ifdef LMT_X86
  if (__builtin_cpu_supports("avx512f")) v.push_back({"avx512", 16, 12, fma_loop_avx512});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v.push_back({"avx2", 8, 12, fma_loop_avx2});
#endif
  v.push_back({"scalar", 1, 8, fma_loop_scalar});
  return v;
}

volatile float g_sink;

/** GFLOP/s of the FMA loop on `threads` threads at once (each thread its own loop). */
double peak_gflops(const Isa& isa, int threads, double target) {
  const int64_t iters = 1 << 20;
  double flops = 2.0 * isa.lanes * isa.chains * (double)iters * threads;
  double t = time_median([&] {
    lmt::parallel_for(threads, 1, [&](int64_t b, int64_t e) {
      float s = 0;
      for (int64_t i = b; i < e; ++i) s += isa.fn(iters);
      g_sink = s;
    });
  }, target);
  return flops / t / 1e9;
}

// ---- references ---------------------------------------------------------------------------

// cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
using sgemm_fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using set_threads_fn = void (*)(int);
using get_config_fn = char* (*)();

struct Blas {
  sgemm_fn sgemm = nullptr;
  set_threads_fn set_threads = nullptr;
  std::string name;
};

Blas load_openblas() {
  Blas b;
  const char* env = std::getenv("LMT_BENCH_BLAS");
  const char* names[] = {env, "libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so"};
  for (const char* n : names) {
    if (!n || !*n) continue;
    void* h = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    b.sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    b.set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    auto cfg = (get_config_fn)dlsym(h, "openblas_get_config");
    if (b.sgemm) {
      b.name = std::string("openblas") + (cfg ? std::string(" ") + cfg() : std::string());
      return b;
    }
  }
  return Blas{};
}

// C = op(A) op(B), i-p-j loop order (unit stride over C and B rows), one thread.
void naive_gemm(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  std::fill(c, c + M * N, 0.0f);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t p = 0; p < K; ++p) {
      float av = ta ? a[p * M + i] : a[i * K + p];
      float* cr = c + i * N;
      if (!tb) {
        const float* br = b + p * N;
        for (int64_t j = 0; j < N; ++j) cr[j] += av * br[j];
      } else {
        for (int64_t j = 0; j < N; ++j) cr[j] += av * b[j * K + p];
      }
    }
}

void fill_random(float* x, int64_t n, uint64_t seed) { lmt_fill_uniform(x, n, -1.0f, 1.0f, seed, 0); }

struct Buf {
  float* p = nullptr;
  size_t bytes = 0;
  explicit Buf(int64_t n) : bytes((size_t)std::max<int64_t>(n, 1) * 4) {
    if (lmt_host_alloc((void**)&p, bytes) != LMT_OK) p = nullptr;
  }
  ~Buf() { if (p) lmt_host_free(p, bytes); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
};

class Runner {
 public:
  Runner(const Opts& o, lmt_bench_sink sink, void* user) : o_(o), sink_(sink), user_(user) {}

  void emit(const std::string& json) {
    if (o_.progress) fprintf(stderr, "  %s\n", json.c_str());
    sink_(json.c_str(), user_);
  }

  void run() {
    blas_ = load_openblas();
    std::vector<int> threads = o_.threads;
    if (threads.empty()) {
      threads.push_back(1);
      if (lmt_get_num_threads() > 1) threads.push_back(lmt_get_num_threads());
    }
    const int saved = lmt_get_num_threads();
    for (int t : threads) {
      lmt_set_num_threads(t);
      if (blas_.set_threads) blas_.set_threads(t);
      if (o_.peak) peak(t);
      if (o_.copy) copy(t);
      if (o_.gemm) gemm(t);
      if (o_.attention) attention(t);
      if (o_.memory) memory(t);
    }
    lmt_set_num_threads(saved);
  }

 private:
  const Opts& o_;
  lmt_bench_sink sink_;
  void* user_;
  Blas blas_;
  double peak_ = NAN, copy_gbps_ = NAN;

  void peak(int t) {
    double best = 0;
    for (const Isa& isa : isas()) {
      double g = peak_gflops(isa, t, o_.target);
      best = std::max(best, g);
      emit(fmt("{\"kernel\":\"peak\",\"layout\":\"%s\",\"shape\":\"fma x%d chains\",\"threads\":%d,\"seconds\":null,\"gflops\":%s,\"ref\":null,\"ref_gflops\":null,\"ratio\":null}",
               isa.name, isa.chains, t, num(g).c_str()));
    }
    peak_ = best;
  }

  void copy(int t) {
    const int64_t n = (o_.quick ? 32 : 128) << 18;  // 32 or 128 MiB of floats
    Buf a(n), b(n);
    if (!a.p || !b.p) return;
    fill_random(a.p, n, 1);
    std::memset(b.p, 0, n * 4);
    double s = time_median([&] {
      lmt::parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) { std::memcpy(b.p + i0, a.p + i0, (i1 - i0) * 4); });
    }, o_.target);
    copy_gbps_ = 2.0 * n * 4 / s / 1e9;
    emit(fmt("{\"kernel\":\"copy\",\"layout\":\"memcpy\",\"shape\":\"%lld MiB\",\"threads\":%d,\"seconds\":%s,\"gflops\":null,\"gbps\":%s,\"ref\":null,\"ref_gflops\":null,\"ratio\":null}",
             (long long)(n * 4 >> 20), t, num(s).c_str(), num(copy_gbps_).c_str()));
  }

  void gemm(int t) {
    struct Shape { int64_t M, N, K; const char* what; };
    std::vector<Shape> shapes;
    const std::vector<int64_t> squares = o_.quick ? std::vector<int64_t>{64, 128, 256, 512} : std::vector<int64_t>{64, 96, 128, 256, 512, 1024, 2048};
    for (int64_t s : squares) shapes.push_back({s, s, s, "square"});
    // The `small` config at B*T = 2048 rows: qkv, attention proj, MLP up, MLP down, LM head.
    const int64_t tr[][2] = {{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}, {384, 8192}};
    for (auto& kn : tr) {
      if (o_.quick && kn[1] == 8192) continue;
      shapes.push_back({2048, kn[1], kn[0], "transformer"});
    }
    const char* layouts[] = {"NN", "NT", "TN"};
    for (const Shape& sh : shapes) {
      for (const char* lay : layouts) {
        const bool ta = lay[0] == 'T', tb = lay[1] == 'T';
        const int64_t M = sh.M, N = sh.N, K = sh.K;
        Buf A(M * K), B(K * N), C(M * N), R(M * N);
        if (!A.p || !B.p || !C.p || !R.p) return;
        fill_random(A.p, M * K, 2);
        fill_random(B.p, K * N, 3);
        const int64_t lda = ta ? M : K, ldb = tb ? K : N;
        double s = time_median([&] { lmt_matmul(C.p, A.p, B.p, 1, M, N, K, ta, tb, lda, ldb, N, 0, 0, 0, 1.0f, 0.0f); }, o_.target);
        double flops = 2.0 * M * N * K, g = flops / s / 1e9;
        std::string ref = "naive";
        double rs = NAN;
        if (blas_.sgemm) {
          ref = "openblas";
          rs = time_median([&] { blas_.sgemm(101, ta ? 112 : 111, tb ? 112 : 111, (int)M, (int)N, (int)K, 1.0f, A.p, (int)lda, B.p, (int)ldb, 0.0f, R.p, (int)N); }, o_.target);
        } else if (flops <= 2.0 * 512 * 512 * 512 && t == 1) {
          rs = time_median([&] { naive_gemm(R.p, A.p, B.p, M, N, K, ta, tb); }, o_.target);
        } else {
          naive_gemm(R.p, A.p, B.p, M, N, K, ta, tb);  // too slow to time; still checks the result
        }
        // The reference's result checks ours on every shape (relative to the largest |C|).
        double maxref = 0, maxdiff = 0;
        for (int64_t i = 0; i < M * N; ++i) {
          maxref = std::max(maxref, (double)std::fabs(R.p[i]));
          maxdiff = std::max(maxdiff, (double)std::fabs(R.p[i] - C.p[i]));
        }
        double rg = flops / rs / 1e9;
        emit(fmt("{\"kernel\":\"gemm\",\"layout\":\"%s\",\"shape\":\"%lldx%lldx%lld\",\"kind\":\"%s\",\"threads\":%d,\"seconds\":%s,\"gflops\":%s,\"pct_peak\":%s,\"ref\":\"%s\",\"ref_gflops\":%s,\"ratio\":%s,\"max_rel_diff\":%s}",
                 lay, (long long)M, (long long)N, (long long)K, sh.what, t, num(s).c_str(), num(g).c_str(), num(100.0 * g / peak_).c_str(), ref.c_str(),
                 num(rg).c_str(), num(g / rg).c_str(), num(maxdiff / std::max(maxref, 1e-30)).c_str()));
      }
    }
  }

  void attention(int t) {
    // The `small` config: B=8, 6 heads of 64, T=256, causal.
    const int64_t B = o_.quick ? 2 : 8, NH = 6, T = 256, HS = 64, BH = B * NH;
    const float scale = 1.0f / std::sqrt((float)HS);
    const int64_t n = BH * T * HS;
    Buf q(n), k(n), v(n), out(n), lse(BH * T), dout(n), dq(n), dk(n), dv(n);
    Buf S(BH * T * T), P(BH * T * T), dP(BH * T * T), dS(BH * T * T), mask(T * T);
    for (Buf* b : {&q, &k, &v, &dout}) if (!b->p) return;
    if (!mask.p || !dS.p) return;
    fill_random(q.p, n, 4);
    fill_random(k.p, n, 5);
    fill_random(v.p, n, 6);
    fill_random(dout.p, n, 7);
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j) mask.p[i * T + j] = j <= i ? 0.0f : -INFINITY;
    auto fused = [&] {
      lmt_attention_forward(out.p, lse.p, q.p, k.p, v.p, nullptr, nullptr, B, NH, T, T, HS, 1, 1, scale);
      lmt_attention_backward(dq.p, dk.p, dv.p, nullptr, dout.p, q.p, k.p, v.p, out.p, lse.p, nullptr, nullptr, B, NH, T, T, HS, 1, 1, scale);
    };
    const int64_t TT = T * T, TH = T * HS;
    auto unfused = [&] {
      // forward: S = scale Q K^T; P = softmax(S + mask); O = P V
      lmt_matmul(S.p, q.p, k.p, BH, T, T, HS, 0, 1, HS, HS, T, TH, TH, TT, scale, 0.0f);
      lmt_softmax_forward(P.p, S.p, mask.p, BH * T, T, T, 1, 0);
      lmt_matmul(out.p, P.p, v.p, BH, T, HS, T, 0, 0, T, HS, HS, TT, TH, TH, 1.0f, 0.0f);
      // backward: dV = P^T dO; dP = dO V^T; dS = softmax'(dP); dQ = scale dS K; dK = scale dS^T Q
      lmt_matmul(dv.p, P.p, dout.p, BH, T, HS, T, 1, 0, T, HS, HS, TT, TH, TH, 1.0f, 0.0f);
      lmt_matmul(dP.p, dout.p, v.p, BH, T, T, HS, 0, 1, HS, HS, T, TH, TH, TT, 1.0f, 0.0f);
      lmt_softmax_backward(dS.p, dP.p, P.p, BH * T, T, 0);
      lmt_matmul(dq.p, dS.p, k.p, BH, T, HS, T, 0, 0, T, HS, HS, TT, TH, TH, scale, 0.0f);
      lmt_matmul(dk.p, dS.p, q.p, BH, T, HS, T, 1, 0, T, HS, HS, TT, TH, TH, scale, 0.0f);
    };
    double sf = time_median(fused, o_.target), su = time_median(unfused, o_.target);
    // FLOPs of the unfused path (full T x T): 2 matmuls forward, 4 backward.
    double flops = 12.0 * BH * T * T * HS;
    emit(fmt("{\"kernel\":\"attention\",\"layout\":\"fwd+bwd causal\",\"shape\":\"B%lld H%lld T%lld D%lld\",\"threads\":%d,\"seconds\":%s,\"gflops\":%s,\"ref\":\"unfused (matmul, softmax, matmul)\",\"ref_gflops\":%s,\"ratio\":%s}",
             (long long)B, (long long)NH, (long long)T, (long long)HS, t, num(sf).c_str(), num(flops / sf / 1e9).c_str(), num(flops / su / 1e9).c_str(), num(su / sf).c_str()));
  }

  void mem(const char* kernel, const char* layout, const std::string& shape, int t, double bytes, const std::function<void()>& fn) {
    double s = time_median(fn, o_.target), gbps = bytes / s / 1e9;
    emit(fmt("{\"kernel\":\"%s\",\"layout\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"seconds\":%s,\"gflops\":null,\"gbps\":%s,\"ref\":\"copy\",\"ref_gflops\":null,\"ref_gbps\":%s,\"ratio\":%s}",
             kernel, layout, shape.c_str(), t, num(s).c_str(), num(gbps).c_str(), num(copy_gbps_).c_str(), num(gbps / copy_gbps_).c_str()));
  }

  void memory(int t) {
    // The vectorised exp alone on an L2-resident block: the ceiling of the exp-bound kernels
    // (softmax, cross-entropy, GELU), in elements per second and as bytes of a read + write.
    {
      const int64_t n = 1 << 16;
      Buf x(n), y(n);
      lmt_fill_uniform(x.p, n, -20.0f, 0.0f, 17, 0);
      const int reps = 64;
      double s = time_median([&] {
        lmt::parallel_for(reps, 1, [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) g_sink = (float)lmt::exp_sum(y.p, x.p, 0.0f, n);
        });
      }, o_.target);
      double el = (double)n * reps / s;
      emit(fmt("{\"kernel\":\"exp\",\"layout\":\"in L2 (256 KiB)\",\"shape\":\"%lld x %d\",\"threads\":%d,\"seconds\":%s,\"gflops\":null,\"gbps\":%s,\"gelem_per_s\":%s,\"ref\":\"copy\",\"ref_gflops\":null,\"ref_gbps\":%s,\"ratio\":%s}",
               (long long)n, reps, t, num(s).c_str(), num(8.0 * el / 1e9).c_str(), num(el / 1e9).c_str(), num(copy_gbps_).c_str(), num(8.0 * el / 1e9 / copy_gbps_).c_str()));
    }
    // Shapes of the `small` config (B*T = 2048 rows of 384, MLP 1536, vocab 8192); bytes are
    // the minimum traffic (each input read once, each output written once).
    const int64_t N = o_.quick ? 1024 : 2048, C = 384, H = 1536, V = 8192;
    {
      Buf x(N * C), out(N * C), w(C), b(C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
      fill_random(x.p, N * C, 8);
      fill_random(w.p, C, 9);
      fill_random(b.p, C, 10);
      std::string sh = fmt("%lldx%lld", (long long)N, (long long)C);
      mem("layernorm", "forward", sh, t, 8.0 * N * C, [&] { lmt_layernorm_forward(out.p, mean.p, rstd.p, x.p, w.p, b.p, N, C, 1e-5f); });
      mem("layernorm", "backward", sh, t, 12.0 * N * C, [&] { lmt_layernorm_backward(dx.p, dw.p, db.p, out.p, x.p, w.p, mean.p, rstd.p, N, C); });
    }
    {
      const int64_t n = N * H;
      Buf x(n), out(n), dx(n);
      fill_random(x.p, n, 11);
      std::string sh = fmt("%lldx%lld", (long long)N, (long long)H);
      mem("gelu", "forward", sh, t, 8.0 * n, [&] { lmt_gelu_forward(out.p, x.p, n); });
      mem("gelu", "backward", sh, t, 12.0 * n, [&] { lmt_gelu_backward(dx.p, out.p, x.p, n); });
    }
    {
      const int64_t rows = (o_.quick ? 2 : 8) * 6 * 256, cols = 256;
      Buf x(rows * cols), y(rows * cols), dx(rows * cols);
      fill_random(x.p, rows * cols, 12);
      std::string sh = fmt("%lldx%lld", (long long)rows, (long long)cols);
      mem("softmax", "forward", sh, t, 8.0 * rows * cols, [&] { lmt_softmax_forward(y.p, x.p, nullptr, rows, cols, 1, 1, 0); });
      mem("softmax", "backward", sh, t, 12.0 * rows * cols, [&] { lmt_softmax_backward(dx.p, x.p, y.p, rows, cols, 0); });
    }
    {
      Buf logits(N * V), losses(N), lse(N), dl(N), dlogits(N * V);
      std::vector<int32_t> tg(N);
      fill_random(logits.p, N * V, 13);
      for (int64_t i = 0; i < N; ++i) { tg[i] = (int32_t)((i * 2654435761u) % V); dl.p[i] = 1.0f / N; }
      std::string sh = fmt("%lldx%lld", (long long)N, (long long)V);
      mem("cross_entropy", "forward", sh, t, 4.0 * N * V, [&] { lmt_cross_entropy_forward(losses.p, lse.p, logits.p, tg.data(), N, V, -100, 0.0f); });
      mem("cross_entropy", "backward", sh, t, 8.0 * N * V, [&] { lmt_cross_entropy_backward(dlogits.p, dl.p, logits.p, lse.p, tg.data(), N, V, -100, 0.0f); });
    }
    {
      const int64_t n = o_.quick ? (4 << 20) : (16 << 20);  // parameters
      Buf p(n), m(n), v(n), g(n);
      fill_random(p.p, n, 14);
      fill_random(g.p, n, 15);
      std::memset(m.p, 0, n * 4);
      std::memset(v.p, 0, n * 4);
      float* ps[1] = {p.p};
      float* ms[1] = {m.p};
      float* vs[1] = {v.p};
      const float* gs[1] = {g.p};
      int64_t sizes[1] = {n};
      uint8_t decay[1] = {1};
      int64_t step = 0;
      mem("adamw", "step", fmt("%lld params", (long long)n), t, 28.0 * n, [&] { lmt_adamw_step(ps, ms, vs, gs, sizes, decay, 1, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, ++step, 1.0f); });
    }
    {
      Buf w(V * C), out(N * C), dw(V * C);
      std::vector<int32_t> ids(N);
      fill_random(w.p, V * C, 16);
      for (int64_t i = 0; i < N; ++i) ids[i] = (int32_t)((i * 40503u) % V);
      std::string sh = fmt("%lld ids of %lldx%lld", (long long)N, (long long)V, (long long)C);
      mem("embedding", "forward", sh, t, 8.0 * N * C, [&] { lmt_embedding_forward(out.p, ids.data(), w.p, N, V, C); });
      mem("embedding", "backward", sh, t, 4.0 * V * C + 12.0 * N * C, [&] { lmt_embedding_backward(dw.p, out.p, ids.data(), N, V, C); });
    }
  }
};

}  // namespace

extern "C" lmt_status lmt_bench_kernels(const char* spec, lmt_bench_sink sink, void* user) {
  if (!sink) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_bench_kernels: sink is null");
  Opts o = parse(spec);
  Runner r(o, sink, user);
  r.run();
  return LMT_OK;
}
