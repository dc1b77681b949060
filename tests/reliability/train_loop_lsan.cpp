// A training loop over the native kernels alone, for AddressSanitizer + LeakSanitizer
// (`npm run test:asan` builds it against build-asan/liblmt.a and runs it): a one-block
// attention LM (embedding -> layernorm -> causal self-attention -> MLP with GELU -> logits ->
// cross-entropy), forward and backward by hand, AdamW with gradient clipping, every buffer
// from lmt_host_alloc / lmt_host_free (the caching allocator), on 2 threads. It must run
// without a sanitizer report, the loss must fall, and at exit LeakSanitizer must find no leak.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "lmt/lmt.h"

#define CHECK(x)                                                                              \
  do {                                                                                        \
    lmt_status s_ = (x);                                                                      \
    if (s_ != LMT_OK) {                                                                       \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, lmt_last_error());       \
      return 1;                                                                               \
    }                                                                                         \
  } while (0)

struct Buf {
  float* p = nullptr;
  int64_t n = 0;
};
static std::vector<Buf> g_all;
static float* alloc(int64_t n) {
  void* p = nullptr;
  if (lmt_host_alloc(&p, (size_t)n * 4) != LMT_OK) return nullptr;
  std::memset(p, 0, (size_t)n * 4);
  g_all.push_back({(float*)p, n});
  return (float*)p;
}

int main() {
  const int64_t V = 32, C = 16, T = 8, B = 2, N = B * T, NH = 2, HS = C / NH, H = 4 * C;
  CHECK(lmt_set_num_threads(2));
  // Parameters and their gradients / moments (one list, so AdamW takes them in one call).
  const int64_t sizes[] = {V * C, C, C, C * 3 * C, C * C, C * H, H * C};
  const int P = 7;
  std::vector<float*> w(P), g(P), m(P), v(P);
  for (int i = 0; i < P; i++) {
    w[i] = alloc(sizes[i]); g[i] = alloc(sizes[i]); m[i] = alloc(sizes[i]); v[i] = alloc(sizes[i]);
    CHECK(lmt_fill_normal(w[i], sizes[i], 0.f, 0.1f, 1234, (uint64_t)i * 100000));
  }
  CHECK(lmt_fill(w[1], 1.f, C));  // layernorm gain
  float *wte = w[0], *lnw = w[1], *lnb = w[2], *wqkv = w[3], *wo = w[4], *w1 = w[5], *w2 = w[6];
  // Activations.
  float *x = alloc(N * C), *xn = alloc(N * C), *mean = alloc(N), *rstd = alloc(N), *qkv = alloc(N * 3 * C);
  float *q = alloc(N * C), *k = alloc(N * C), *vv = alloc(N * C), *att = alloc(N * C), *lse = alloc(B * NH * T);
  float *atto = alloc(N * C), *h = alloc(N * C), *u = alloc(N * H), *ug = alloc(N * H), *logits = alloc(N * V);
  float *losses = alloc(N), *lse2 = alloc(N), *dlosses = alloc(N), *dlogits = alloc(N * V);
  float *dh = alloc(N * C), *dug = alloc(N * H), *du = alloc(N * H), *datto = alloc(N * C), *datt = alloc(N * C);
  float *dq = alloc(N * C), *dk = alloc(N * C), *dv = alloc(N * C), *dqkv = alloc(N * 3 * C), *dxn = alloc(N * C), *dx = alloc(N * C);
  void* idsv = nullptr;
  CHECK(lmt_host_alloc(&idsv, (size_t)N * 2 * 4));
  int32_t *ids = (int32_t*)idsv, *tgt = ids + N;
  CHECK(lmt_fill(dlosses, 1.f / N, N));
  float first = 0, last = 0;
  for (int step = 1; step <= 60; step++) {
    for (int64_t i = 0; i < N; i++) { ids[i] = (int32_t)((i * 5 + step) % V); tgt[i] = (ids[i] * 3 + 1) % V; }
    // forward: x = wte[ids]; xn = LN(x); qkv = xn Wqkv; heads (B,NH,T,HS) by strided copies.
    CHECK(lmt_embedding_forward(x, ids, wte, N, V, C));
    CHECK(lmt_layernorm_forward(xn, mean, rstd, x, lnw, lnb, N, C, 1e-5f));
    CHECK(lmt_matmul(qkv, xn, wqkv, 1, N, 3 * C, C, 0, 0, C, 3 * C, 3 * C, 0, 0, 0, 1.f, 0.f));
    for (int part = 0; part < 3; part++) {
      float* dst = part == 0 ? q : part == 1 ? k : vv;
      const int64_t shape[4] = {B, NH, T, HS}, strides[4] = {T * 3 * C, HS, 3 * C, 1};
      CHECK(lmt_copy_strided(dst, qkv, N * 3 * C, 4, shape, strides, part * C));
    }
    CHECK(lmt_attention_forward(att, lse, q, k, vv, nullptr, nullptr, B, NH, T, T, HS, 1, 1, 1.f / std::sqrt((float)HS)));
    {  // (B,NH,T,HS) -> (B,T,NH,HS)
      const int64_t shape[4] = {B, T, NH, HS}, strides[4] = {NH * T * HS, HS, T * HS, 1};
      CHECK(lmt_copy_strided(atto, att, N * C, 4, shape, strides, 0));
    }
    CHECK(lmt_matmul(h, atto, wo, 1, N, C, C, 0, 0, C, C, C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(u, h, w1, 1, N, H, C, 0, 0, C, H, H, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_gelu_forward(ug, u, N * H));
    CHECK(lmt_matmul(logits, ug, w2, 1, N, C, H, 0, 0, H, C, C, 0, 0, 0, 1.f, 0.f));  // (N,C)
    // tie: logits (N,V) = that (N,C) @ wte^T
    float* z = alloc(N * C);
    std::memcpy(z, logits, (size_t)N * C * 4);
    CHECK(lmt_matmul(logits, z, wte, 1, N, V, C, 0, 1, C, C, V, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_cross_entropy_forward(losses, lse2, logits, tgt, N, V, -100, 0.f));
    float loss = 0;
    for (int64_t i = 0; i < N; i++) loss += losses[i] / N;
    if (step == 1) first = loss;
    last = loss;
    // backward
    CHECK(lmt_cross_entropy_backward(dlogits, dlosses, logits, lse2, tgt, N, V, -100, 0.f));
    float* dz = alloc(N * C);
    CHECK(lmt_matmul(dz, dlogits, wte, 1, N, C, V, 0, 0, V, C, C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(g[0], dlogits, z, 1, V, C, N, 1, 0, V, C, C, 0, 0, 0, 1.f, 0.f));  // dwte (tied part)
    CHECK(lmt_matmul(g[6], ug, dz, 1, H, C, N, 1, 0, H, C, C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(dug, dz, w2, 1, N, H, C, 0, 1, C, C, H, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_gelu_backward(du, dug, u, N * H));
    CHECK(lmt_matmul(g[5], h, du, 1, C, H, N, 1, 0, C, H, H, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(dh, du, w1, 1, N, C, H, 0, 1, H, H, C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(g[4], atto, dh, 1, C, C, N, 1, 0, C, C, C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(datto, dh, wo, 1, N, C, C, 0, 1, C, C, C, 0, 0, 0, 1.f, 0.f));
    {  // (B,T,NH,HS) -> (B,NH,T,HS)
      const int64_t shape[4] = {B, NH, T, HS}, strides[4] = {T * C, HS, C, 1};
      CHECK(lmt_copy_strided(datt, datto, N * C, 4, shape, strides, 0));
    }
    CHECK(lmt_attention_backward(dq, dk, dv, nullptr, datt, q, k, vv, att, lse, nullptr, nullptr, B, NH, T, T, HS, 1, 1,
                                 1.f / std::sqrt((float)HS)));
    std::memset(dqkv, 0, (size_t)N * 3 * C * 4);
    for (int part = 0; part < 3; part++) {
      const float* src = part == 0 ? dq : part == 1 ? dk : dv;
      const int64_t shape[4] = {B, NH, T, HS}, strides[4] = {T * 3 * C, HS, 3 * C, 1};
      CHECK(lmt_scatter_add_strided(dqkv, N * 3 * C, src, 4, shape, strides, part * C));
    }
    CHECK(lmt_matmul(g[3], xn, dqkv, 1, C, 3 * C, N, 1, 0, C, 3 * C, 3 * C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_matmul(dxn, dqkv, wqkv, 1, N, C, 3 * C, 0, 1, 3 * C, 3 * C, C, 0, 0, 0, 1.f, 0.f));
    CHECK(lmt_layernorm_backward(dx, g[1], g[2], dxn, x, lnw, mean, rstd, N, C));
    float* demb = alloc(V * C);
    CHECK(lmt_embedding_backward(demb, dx, ids, N, V, C));
    for (int64_t i = 0; i < V * C; i++) g[0][i] += demb[i];
    double norm = 0;
    CHECK(lmt_clip_grad_norm(&norm, g.data(), sizes, P, 1.f));
    std::vector<uint8_t> decay = {1, 0, 0, 1, 1, 1, 1};
    CHECK(lmt_adamw_step(w.data(), m.data(), v.data(), (const float* const*)g.data(), sizes, decay.data(), P, 1e-2f, 0.9f,
                         0.95f, 1e-8f, 0.01f, step, 1.f));
    // Per-step temporaries go back to the allocator's cache (and are reused next step).
    for (float* t : {z, dz, demb}) {
      for (size_t i = 0; i < g_all.size(); i++)
        if (g_all[i].p == t) { lmt_host_free(t, (size_t)g_all[i].n * 4); g_all.erase(g_all.begin() + i); break; }
    }
  }
  std::printf("train_loop_lsan: loss %.4f -> %.4f over 60 steps\n", first, last);
  for (const Buf& b : g_all) lmt_host_free(b.p, (size_t)b.n * 4);
  lmt_host_free(idsv, (size_t)N * 2 * 4);
  lmt_host_flush_cache();
  if (!(last < first * 0.8f)) { std::fprintf(stderr, "loss did not fall\n"); return 1; }
  return 0;
}
