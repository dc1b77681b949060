// CUDA fill / fill_i32 / cast_i32_f32 / copy_strided / scatter_add_strided / fill_uniform /
// fill_normal / bf16 casts / dropout against the CPU kernels on the same inputs. Everything is
// bitwise except fill_normal (device log/cos) and scatter-adds into overlapping windows
// (atomics add in no fixed order).
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_test_util.h"

using Shape = std::vector<int64_t>;

static std::string S(int64_t n) { return std::to_string(n); }

static const std::vector<int64_t> kSizes = {1, 7, 255, 256, 257, 1000, 100003, 1000003};

// Host float -> bf16 bits, round to nearest even (NaN reported as 0x7fc0; only its NaN-ness
// is compared).
static uint16_t bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
static bool bf16_isnan(uint16_t h) { return (h & 0x7fffu) > 0x7f80u; }
static uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct View {
  const char* name;
  int64_t x_numel;
  Shape shape, strides;
  int64_t offset;
  bool overlapping;  // distinct indices can reach the same element
};

static void test_fill_cast() {
  for (int64_t n : kSizes) {
    std::vector<float> ref(n, 1.0f);
    lmt_fill(ref.data(), -2.75f, n);
    ct::Dev<float> d(std::vector<float>(n, 1.0f));
    if (ct::ok("lmt_cuda_fill", lmt_cuda_fill(d.p, -2.75f, n)))
      lt::expect("fill == cpu, n=" + S(n), ct::same(d.get(), ref));

    std::vector<int32_t> refi(n, 0);
    lmt_fill_i32(refi.data(), -7, n);
    ct::Dev<int32_t> di(std::vector<int32_t>(n, 0));
    if (ct::ok("lmt_cuda_fill_i32", lmt_cuda_fill_i32(di.p, -7, n)))
      lt::expect("fill_i32 == cpu, n=" + S(n), di.get() == refi);

    // Beyond 2^24 the cast rounds: both sides must round the same way.
    std::vector<int32_t> xi = lt::randint(n, INT32_MIN, INT32_MAX);
    if (n > 3) {
      xi[0] = INT32_MIN;
      xi[1] = INT32_MAX;
      xi[2] = 16777217;
      xi[3] = -16777219;
    }
    std::vector<float> refc(n);
    lmt_cast_i32_f32(refc.data(), xi.data(), n);
    ct::Dev<int32_t> dx(xi);
    ct::Dev<float> dc(std::vector<float>(n, NAN));
    if (ct::ok("lmt_cuda_cast_i32_f32", lmt_cuda_cast_i32_f32(dc.p, dx.p, n)))
      lt::expect("cast_i32_f32 == cpu, n=" + S(n), ct::same(dc.get(), refc));
  }
  lt::expect_status("cuda fill(n=-1)", lmt_cuda_fill(nullptr, 1.0f, -1), lmt_fill(nullptr, 1.0f, -1));
  lt::expect_status("cuda fill(n=-1) is INVALID_ARG", lmt_cuda_fill(nullptr, 1.0f, -1), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda fill(null out)", lmt_cuda_fill(nullptr, 1.0f, 3), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda fill(null, n=0) is a no-op", lmt_cuda_fill(nullptr, 1.0f, 0), LMT_OK);
  lt::expect_status("cuda fill_i32(n=-2)", lmt_cuda_fill_i32(nullptr, 1, -2), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda cast_i32_f32(null x)", lmt_cuda_cast_i32_f32(nullptr, nullptr, 3), LMT_ERR_INVALID_ARG);
}

static void test_strided() {
  const std::vector<View> views = {
      {"contiguous (1000003)", 1000003, {1000003}, {1}, 0, false},
      {"permute (3,4,5)->(5,3,4)", 60, {5, 3, 4}, {1, 20, 5}, 0, false},
      {"slice rows 2..5 cols 3..10 of (7,13)", 91, {3, 7}, {13, 1}, 2 * 13 + 3, false},
      {"expand (1,5)->(4,5)", 5, {4, 5}, {0, 1}, 0, true},
      {"expand (3,1)->(3,257)", 3, {3, 257}, {1, 0}, 0, true},
      {"flip (13) via negative stride", 13, {13}, {-1}, 12, false},
      {"0-d scalar at offset 6", 9, {}, {}, 6, false},
      {"unit dims (1,7,1,3)", 21, {1, 7, 1, 3}, {99, 3, -5, 1}, 0, false},
      {"sliding windows (10,3) of 12", 12, {10, 3}, {1, 1}, 0, true},
      {"transpose (257,1009)->(1009,257)", 257 * 1009, {1009, 257}, {1, 1009}, 0, false},
      {"every 2nd of 3 dims (6,8,9)->(3,4,9)", 432, {3, 4, 9}, {144, 18, 1}, 0, false},
      {"expand (1009)->(100,1009)", 1009, {100, 1009}, {0, 1}, 0, true},
      {"permute 4-d (8,16,32,64)->(32,8,64,16)", 262144, {32, 8, 64, 16}, {64, 32768, 1, 2048}, 0, false},
      {"8-d permute of (2,3,2,3,2,3,2,3)", 1296, {3, 2, 3, 2, 3, 2, 3, 2},
       {1, 3, 6, 18, 36, 108, 216, 648}, 0, false},
      {"single element (1)", 1, {1}, {1}, 0, false},
      {"empty (4,0,3)", 5, {4, 0, 3}, {1, 1, 1}, 0, false},
  };
  for (const View& v : views) {
    int64_t n = 1;
    for (int64_t s : v.shape) n *= s;
    const int nd = (int)v.shape.size();
    std::vector<float> x = lt::randn(v.x_numel);
    ct::Dev<float> dx(x);

    std::vector<float> ref(n, 9e9f);
    lmt_status cs = lmt_copy_strided(ref.data(), x.data(), v.x_numel, nd, v.shape.data(),
                                     v.strides.data(), v.offset);
    ct::Dev<float> dout(std::vector<float>(n, 9e9f));
    lmt_status gs = lmt_cuda_copy_strided(dout.p, dx.p, v.x_numel, nd, v.shape.data(),
                                          v.strides.data(), v.offset);
    lt::expect_status(std::string("cuda copy_strided status ") + v.name, gs, cs);
    if (gs == LMT_OK) lt::expect(std::string("cuda copy_strided == cpu ") + v.name, ct::same(dout.get(), ref));

    // Scatter-add into a non-zero buffer (the kernel adds, it does not overwrite).
    std::vector<float> g = lt::randn(n), base = lt::randn(v.x_numel);
    std::vector<float> sref = base;
    cs = lmt_scatter_add_strided(sref.data(), v.x_numel, g.data(), nd, v.shape.data(),
                                 v.strides.data(), v.offset);
    ct::Dev<float> dg(g), dbase(base);
    gs = lmt_cuda_scatter_add_strided(dbase.p, v.x_numel, dg.p, nd, v.shape.data(),
                                      v.strides.data(), v.offset);
    lt::expect_status(std::string("cuda scatter_add_strided status ") + v.name, gs, cs);
    if (gs != LMT_OK) continue;
    if (v.overlapping)
      lt::expect_close(std::string("cuda scatter_add_strided (atomics) ") + v.name,
                       lt::max_err(dbase.get(), sref), 1e-5);
    else
      lt::expect(std::string("cuda scatter_add_strided == cpu ") + v.name, ct::same(dbase.get(), sref));
  }
  // Invalid views: same status as the CPU.
  {
    ct::Dev<float> dx(16), dout(16);
    const Shape sh = {4, 4}, st = {4, 1}, st_far = {5, 1}, sh9 = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    std::vector<float> hx(16), ho(16);
    lt::expect_status("cuda copy_strided reads past the end -> same as cpu",
                      lmt_cuda_copy_strided(dout.p, dx.p, 16, 2, sh.data(), st_far.data(), 0),
                      lmt_copy_strided(ho.data(), hx.data(), 16, 2, sh.data(), st_far.data(), 0));
    lt::expect_status("cuda copy_strided reads past the end -> SHAPE",
                      lmt_cuda_copy_strided(dout.p, dx.p, 16, 2, sh.data(), st_far.data(), 0), LMT_ERR_SHAPE);
    lt::expect_status("cuda copy_strided offset -1 -> SHAPE",
                      lmt_cuda_copy_strided(dout.p, dx.p, 16, 2, sh.data(), st.data(), -1), LMT_ERR_SHAPE);
    lt::expect_status("cuda copy_strided ndim=9 -> INVALID_ARG",
                      lmt_cuda_copy_strided(dout.p, dx.p, 16, 9, sh9.data(), sh9.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda copy_strided ndim=-1 -> INVALID_ARG",
                      lmt_cuda_copy_strided(dout.p, dx.p, 16, -1, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda copy_strided x_numel=-1 -> INVALID_ARG",
                      lmt_cuda_copy_strided(dout.p, dx.p, -1, 2, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda scatter_add_strided writes past the end -> SHAPE",
                      lmt_cuda_scatter_add_strided(dout.p, 15, dx.p, 2, sh.data(), st.data(), 0), LMT_ERR_SHAPE);
  }
}

static void test_uniform_normal() {
  struct U { int64_t n; float lo, hi; uint64_t seed, offset; };
  const std::vector<U> us = {
      {1, 0.0f, 1.0f, 1, 0},
      {257, -1.0f, 1.0f, 42, 7},
      {1000003, -0.02f, 0.02f, 0x9E3779B97F4A7C15ull, 123456789},
      {100003, 3.0f, 3.0f, 5, 0},                                  // lo == hi
      {100003, 1.0f, std::nextafter(1.0f, 2.0f), 9, 1},            // width of one ulp: hits hi
      {1000, -5.0f, 5.0f, 77, UINT64_MAX - 500},                   // counter wraps
      {4097, -1e30f, 1e30f, 3, (uint64_t)1 << 40},
  };
  for (const U& u : us) {
    std::string name = "n=" + S(u.n) + " [" + std::to_string(u.lo) + "," + std::to_string(u.hi) + ") offset=" + std::to_string(u.offset);
    std::vector<float> ref(u.n);
    lmt_fill_uniform(ref.data(), u.n, u.lo, u.hi, u.seed, u.offset);
    ct::Dev<float> d(std::vector<float>(u.n, NAN));
    if (!ct::ok("lmt_cuda_fill_uniform", lmt_cuda_fill_uniform(d.p, u.n, u.lo, u.hi, u.seed, u.offset))) continue;
    std::vector<float> got = d.get();
    lt::expect("cuda fill_uniform bitwise == cpu, " + name, ct::same(got, ref));
    bool in = true;
    for (float v : got) in = in && ((v >= u.lo && v < u.hi) || (u.lo == u.hi && v == u.lo));
    lt::expect("cuda fill_uniform inside [lo, hi), " + name, in);
  }
  struct N { int64_t n; float mean, std; uint64_t seed, offset; };
  const std::vector<N> ns = {
      {1, 0.0f, 1.0f, 1, 0},
      {257, 0.0f, 0.02f, 42, 3},
      {1000003, 1.5f, 2.0f, 0xDEADBEEFCAFEull, 99},
      {1000, -3.0f, 0.0f, 8, 0},  // std 0: every value is the mean
  };
  for (const N& c : ns) {
    std::vector<float> ref(c.n);
    lmt_fill_normal(ref.data(), c.n, c.mean, c.std, c.seed, c.offset);
    ct::Dev<float> d(std::vector<float>(c.n, NAN));
    if (!ct::ok("lmt_cuda_fill_normal", lmt_cuda_fill_normal(d.p, c.n, c.mean, c.std, c.seed, c.offset))) continue;
    std::vector<float> got = d.get();
    // Per element, relative to max(|ref|, std): device log/cos are within an ulp or two of
    // glibc's in double, which the final rounding to float almost always hides.
    double worst = 0;
    for (int64_t i = 0; i < c.n; ++i) {
      double den = std::fmax(std::fabs((double)ref[i]), std::fmax((double)c.std, 1e-30));
      double e = std::fabs((double)got[i] - (double)ref[i]) / den;
      if (!(e <= worst)) worst = e;  // NaN sticks
    }
    lt::expect_close("cuda fill_normal vs cpu, n=" + S(c.n) + " mean=" + std::to_string(c.mean) +
                         " std=" + std::to_string(c.std),
                     worst, 1e-6);
  }
  lt::expect_status("cuda fill_uniform lo > hi", lmt_cuda_fill_uniform(nullptr, 4, 2.0f, 1.0f, 1, 0),
                    lmt_fill_uniform(nullptr, 4, 2.0f, 1.0f, 1, 0));
  lt::expect_status("cuda fill_uniform hi = inf -> INVALID_ARG", lmt_cuda_fill_uniform(nullptr, 4, 0.0f, INFINITY, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda fill_uniform n=-1 -> INVALID_ARG", lmt_cuda_fill_uniform(nullptr, -1, 0.0f, 1.0f, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda fill_normal std<0 -> INVALID_ARG", lmt_cuda_fill_normal(nullptr, 4, 0.0f, -1.0f, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda fill_normal n=-1 == cpu", lmt_cuda_fill_normal(nullptr, -1, 0.0f, 1.0f, 1, 0),
                    lmt_fill_normal(nullptr, -1, 0.0f, 1.0f, 1, 0));
}

static void test_bf16() {
  // f32 -> bf16: specials, rounding ties, subnormals, and random bit patterns.
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX,
                          -FLT_MAX, FLT_MIN, 1e-40f, -1e-40f, from_bits(1), from_bits(0x807fffffu),
                          1.0f + 0x1p-8f,         // tie -> 1 (even)
                          1.0f + 3 * 0x1p-8f,     // tie -> 1 + 2^-6 (even)
                          1.0f + 0x1p-8f + 0x1p-20f,  // just above the tie -> up
                          from_bits(0x7f7f8000u),  // tie at the top: rounds to inf
                          from_bits(0x7f7f7fffu), 65504.0f, 3.14159265f};
  std::vector<float> r = lt::randn(100003, 10.0f);
  x.insert(x.end(), r.begin(), r.end());
  for (int i = 0; i < 1000003; ++i) x.push_back(from_bits((uint32_t)lt::rng()()));
  const int64_t n = (int64_t)x.size();
  ct::Dev<float> dx(x);
  ct::Dev<uint16_t> dh(std::vector<uint16_t>(n, 0x1234));
  if (ct::ok("lmt_cuda_cast_f32_bf16", lmt_cuda_cast_f32_bf16(dh.p, dx.p, n))) {
    std::vector<uint16_t> h = dh.get();
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; ++i) {
      uint16_t want = bf16_rne(x[i]);
      bool okv = bf16_isnan(want) ? bf16_isnan(h[i]) : h[i] == want;
      if (!okv) {
        if (first < 0) first = i;
        ++bad;
      }
    }
    if (first >= 0)
      std::printf("  first mismatch: x bits 0x%08x -> got 0x%04x want 0x%04x\n", bits(x[first]),
                  h[first], bf16_rne(x[first]));
    lt::expect("cuda cast_f32_bf16 == host round-to-nearest-even (" + S(n) + " values, " + S(bad) + " bad)", bad == 0);

    // Round trip: bf16 -> f32 gives exactly the rounded value.
    ct::Dev<float> dback(std::vector<float>(n, 0.0f));
    if (ct::ok("lmt_cuda_cast_bf16_f32", lmt_cuda_cast_bf16_f32(dback.p, dh.p, n))) {
      std::vector<float> back = dback.get();
      bool okr = true;
      for (int64_t i = 0; i < n && okr; ++i) {
        uint16_t want = bf16_rne(x[i]);
        okr = bf16_isnan(want) ? std::isnan(back[i]) : bits(back[i]) == (uint32_t)want << 16;
      }
      lt::expect("cuda f32 -> bf16 -> f32 round trip == host rounding", okr);
    }
  }
  // bf16 -> f32 for every bit pattern is the exact widening, and -> bf16 again is identity.
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = (uint16_t)i;
  ct::Dev<uint16_t> dall(all);
  ct::Dev<float> dw(std::vector<float>(65536, 0.0f));
  if (ct::ok("lmt_cuda_cast_bf16_f32", lmt_cuda_cast_bf16_f32(dw.p, dall.p, 65536))) {
    std::vector<float> w = dw.get();
    bool okw = true;
    for (int i = 0; i < 65536 && okw; ++i)
      okw = bf16_isnan(all[i]) ? std::isnan(w[i]) : bits(w[i]) == (uint32_t)i << 16;
    lt::expect("cuda cast_bf16_f32 exact widening, all 65536 patterns", okw);
    ct::Dev<uint16_t> dh2(std::vector<uint16_t>(65536, 0));
    if (ct::ok("lmt_cuda_cast_f32_bf16", lmt_cuda_cast_f32_bf16(dh2.p, dw.p, 65536))) {
      std::vector<uint16_t> h2 = dh2.get();
      bool oki = true;
      for (int i = 0; i < 65536 && oki; ++i) oki = bf16_isnan(all[i]) ? bf16_isnan(h2[i]) : h2[i] == all[i];
      lt::expect("cuda bf16 -> f32 -> bf16 identity, all 65536 patterns", oki);
    }
  }
  lt::expect_status("cuda cast_f32_bf16 n=-1 -> INVALID_ARG", lmt_cuda_cast_f32_bf16(nullptr, nullptr, -1), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda cast_bf16_f32 null x -> INVALID_ARG", lmt_cuda_cast_bf16_f32(nullptr, nullptr, 5), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda cast_f32_bf16 n=0 -> OK", lmt_cuda_cast_f32_bf16(nullptr, nullptr, 0), LMT_OK);
}

static void test_dropout() {
  for (float p : {0.0f, 0.1f, 0.5f, 0.9f}) {
    for (int64_t n : {(int64_t)1, (int64_t)257, (int64_t)1000003}) {
      const uint64_t seed = 1234 + (uint64_t)n, offset = 77 * (uint64_t)n;
      std::vector<float> x = lt::randn(n);
      std::vector<float> ref(n), refb(n);
      lmt_dropout_forward(ref.data(), x.data(), n, p, seed, offset);
      lmt_dropout_backward(refb.data(), x.data(), n, p, seed, offset);
      ct::Dev<float> dx(x), dout(std::vector<float>(n, NAN)), dback(std::vector<float>(n, NAN));
      const std::string name = "p=" + std::to_string(p) + " n=" + S(n);
      if (ct::ok("lmt_cuda_dropout_forward", lmt_cuda_dropout_forward(dout.p, dx.p, n, p, seed, offset)))
        lt::expect("cuda dropout_forward bitwise == cpu, " + name, ct::same(dout.get(), ref));
      if (ct::ok("lmt_cuda_dropout_backward", lmt_cuda_dropout_backward(dback.p, dx.p, n, p, seed, offset)))
        lt::expect("cuda dropout_backward bitwise == cpu, " + name, ct::same(dback.get(), refb));
    }
  }
  lt::expect_status("cuda dropout p=1 == cpu", lmt_cuda_dropout_forward(nullptr, nullptr, 4, 1.0f, 1, 0),
                    lmt_dropout_forward(nullptr, nullptr, 4, 1.0f, 1, 0));
  lt::expect_status("cuda dropout p=NaN -> INVALID_ARG", lmt_cuda_dropout_forward(nullptr, nullptr, 4, NAN, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda dropout n=-1 -> INVALID_ARG", lmt_cuda_dropout_backward(nullptr, nullptr, -1, 0.5f, 1, 0),
                    LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda dropout null x -> INVALID_ARG", lmt_cuda_dropout_forward(nullptr, nullptr, 4, 0.5f, 1, 0),
                    LMT_ERR_INVALID_ARG);
}

int main() {
  ct::require_device();
  lt::seed();
  test_fill_cast();
  test_strided();
  test_uniform_normal();
  test_bf16();
  test_dropout();
  lt::expect_status("cuda synchronize after all kernels", lmt_cuda_synchronize(), LMT_OK);
  return lt::finish();
}
