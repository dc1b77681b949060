// fill / cast / strided copy and scatter-add / Philox uniform and normal fills, against the
// reference in native/cpu/reference/ops_a.cpp (which carries its own Philox).
#include <cstring>

#include "core.h"
#include "ops_a.h"
#include "test_util.h"

using Shape = std::vector<int64_t>;

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

struct View {
  const char* name;
  int64_t x_numel;
  Shape shape, strides;
  int64_t offset;
};

int main() {
  lt::seed();
  lmt_set_num_threads(2);

  // ---- fill, fill_i32, cast ----
  for (int64_t n : {0, 1, 7, 1009, 100003}) {
    std::vector<float> out(n, -1.0f);
    lt::expect_status("fill n=" + std::to_string(n), lmt_fill(out.data(), 2.5f, n), LMT_OK);
    bool ok = true;
    for (float v : out) ok = ok && v == 2.5f;
    lt::expect("fill writes every element, n=" + std::to_string(n), ok);
    std::vector<int32_t> oi(n, 0);
    lmt_fill_i32(oi.data(), -7, n);
    ok = true;
    for (int32_t v : oi) ok = ok && v == -7;
    lt::expect("fill_i32 writes every element, n=" + std::to_string(n), ok);
    std::vector<int32_t> xi = lt::randint(n, -100000, 100000);
    std::vector<float> of(n);
    lmt_cast_i32_f32(of.data(), xi.data(), n);
    ok = true;
    for (int64_t i = 0; i < n; ++i) ok = ok && of[i] == (float)xi[i];
    lt::expect("cast_i32_f32 exact, n=" + std::to_string(n), ok);
  }
  lt::expect_status("fill(null out)", lmt_fill(nullptr, 1.0f, 3), LMT_ERR_INVALID_ARG);
  lt::expect_status("fill(n=-1)", lmt_fill(nullptr, 1.0f, -1), LMT_ERR_INVALID_ARG);
  lt::expect_status("fill(null, n=0) is a no-op", lmt_fill(nullptr, 1.0f, 0), LMT_OK);
  lt::expect_status("fill_i32(null out)", lmt_fill_i32(nullptr, 1, 3), LMT_ERR_INVALID_ARG);
  lt::expect_status("fill_i32(n=-2)", lmt_fill_i32(nullptr, 1, -2), LMT_ERR_INVALID_ARG);
  {
    float o[3];
    lt::expect_status("cast_i32_f32(null x)", lmt_cast_i32_f32(o, nullptr, 3), LMT_ERR_INVALID_ARG);
    lt::expect_status("cast_i32_f32(n=-1)", lmt_cast_i32_f32(o, nullptr, -1), LMT_ERR_INVALID_ARG);
  }

  // ---- copy_strided and its adjoint ----
  const std::vector<View> views = {
      {"permute (3,4,5)->(5,3,4)", 60, {5, 3, 4}, {1, 20, 5}, 0},
      {"slice rows 2..5 cols 3..10 of (7,13)", 91, {3, 7}, {13, 1}, 2 * 13 + 3},
      {"expand (1,5)->(4,5)", 5, {4, 5}, {0, 1}, 0},
      {"expand (3,1)->(3,257)", 3, {3, 257}, {1, 0}, 0},
      {"flip (13) via negative stride", 13, {13}, {-1}, 12},
      {"0-d scalar at offset 6", 9, {}, {}, 6},
      {"unit dims (1,7,1,3)", 21, {1, 7, 1, 3}, {99, 3, -5, 1}, 0},
      {"sliding windows (10,3) of 12", 12, {10, 3}, {1, 1}, 0},
      {"transpose (257,1009)->(1009,257)", 257 * 1009, {1009, 257}, {1, 1009}, 0},
      {"every 2nd of 3 dims (6,8,9)->(3,4,9)", 432, {3, 4, 9}, {144, 18, 1}, 0},
      {"expand (1009)->(100,1009)", 1009, {100, 1009}, {0, 1}, 0},
      {"empty (4,0,3)", 5, {4, 0, 3}, {1, 1, 1}, 0},
  };
  for (const View& v : views) {
    int64_t n = 1;
    for (int64_t s : v.shape) n *= s;
    std::vector<float> x = lt::randn(v.x_numel);
    std::vector<float> out(n, NAN);
    lt::expect_status(std::string("copy_strided ") + v.name,
                      lmt_copy_strided(out.data(), x.data(), v.x_numel, (int)v.shape.size(),
                                       v.shape.data(), v.strides.data(), v.offset),
                      LMT_OK);
    auto want = ref::copy_strided(lt::to_double(x), v.shape, v.strides, v.offset);
    lt::expect_close(std::string("copy_strided ") + v.name, lt::max_err(out, want), 0.0);

    // scatter-add into a non-zero `out`: it must add, not overwrite.
    std::vector<float> y = lt::randn(n);
    std::vector<float> acc = lt::randn(v.x_numel);
    std::vector<float> got = acc;
    lmt_scatter_add_strided(got.data(), v.x_numel, y.data(), (int)v.shape.size(), v.shape.data(),
                            v.strides.data(), v.offset);
    auto want_s = ref::scatter_add_strided(lt::to_double(acc), lt::to_double(y), v.shape,
                                           v.strides, v.offset);
    lt::expect_close(std::string("scatter_add_strided ") + v.name, lt::max_err(got, want_s), 1e-5);
    // Adjoint identity <copy(x), y> == <x, scatter(y)>.
    std::vector<float> z(v.x_numel, 0.0f);
    lmt_scatter_add_strided(z.data(), v.x_numel, y.data(), (int)v.shape.size(), v.shape.data(),
                            v.strides.data(), v.offset);
    double l = 0, r = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; ++i) l += (double)out[i] * y[i], scale += std::fabs((double)out[i] * y[i]);
    for (int64_t i = 0; i < v.x_numel; ++i) r += (double)x[i] * z[i];
    lt::expect_close(std::string("adjoint <copy x, y> = <x, scatter y> ") + v.name,
                     std::fabs(l - r) / scale, 1e-5);
    // Thread count must not matter, even where adds collide.
    std::vector<float> g1 = acc, g2 = acc;
    lmt_set_num_threads(1);
    lmt_scatter_add_strided(g1.data(), v.x_numel, y.data(), (int)v.shape.size(), v.shape.data(),
                            v.strides.data(), v.offset);
    lmt_set_num_threads(2);
    lmt_scatter_add_strided(g2.data(), v.x_numel, y.data(), (int)v.shape.size(), v.shape.data(),
                            v.strides.data(), v.offset);
    lt::expect(std::string("scatter_add_strided 1 vs 2 threads bitwise ") + v.name, same_bits(g1, g2));
  }
  {
    std::vector<float> x(20), out(20);
    Shape sh = {4, 5}, st = {5, 1}, bad = {-1, 5}, neg = {-5, 1};
    lt::expect_status("copy_strided reaching x_numel", lmt_copy_strided(out.data(), x.data(), 19, 2, sh.data(), st.data(), 0), LMT_ERR_SHAPE);
    lt::expect_status("copy_strided offset past the end", lmt_copy_strided(out.data(), x.data(), 20, 2, sh.data(), st.data(), 1), LMT_ERR_SHAPE);
    lt::expect_status("copy_strided negative stride below 0", lmt_copy_strided(out.data(), x.data(), 20, 2, sh.data(), neg.data(), 10), LMT_ERR_SHAPE);
    lt::expect_status("copy_strided negative stride in range", lmt_copy_strided(out.data(), x.data(), 20, 2, sh.data(), neg.data(), 15), LMT_OK);
    Shape huge = {1 << 20, 1 << 20}, hst = {(int64_t)1 << 40, (int64_t)1 << 40};
    lt::expect_status("copy_strided strides beyond int64 reach", lmt_copy_strided(out.data(), x.data(), 20, 2, huge.data(), hst.data(), 0), LMT_ERR_SHAPE);
    lt::expect_status("copy_strided ndim=9", lmt_copy_strided(out.data(), x.data(), 20, 9, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("copy_strided ndim=-1", lmt_copy_strided(out.data(), x.data(), 20, -1, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("copy_strided negative shape", lmt_copy_strided(out.data(), x.data(), 20, 2, bad.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("copy_strided null x", lmt_copy_strided(out.data(), nullptr, 20, 2, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("copy_strided null strides", lmt_copy_strided(out.data(), x.data(), 20, 2, sh.data(), nullptr, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("copy_strided x_numel=-1", lmt_copy_strided(out.data(), x.data(), -1, 2, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("scatter_add_strided reaching out_numel", lmt_scatter_add_strided(out.data(), 19, x.data(), 2, sh.data(), st.data(), 0), LMT_ERR_SHAPE);
    lt::expect_status("scatter_add_strided null out", lmt_scatter_add_strided(nullptr, 20, x.data(), 2, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("scatter_add_strided ndim=9", lmt_scatter_add_strided(out.data(), 20, x.data(), 9, sh.data(), st.data(), 0), LMT_ERR_INVALID_ARG);
  }

  // ---- Philox uniform ----
  {
    bool ok = true;
    for (uint64_t i = 0; i < 1000; ++i) {
      uint64_t s = lt::rng()(), c = lt::rng()();
      ok = ok && lmt::uniform_at(s, c) == ref::uniform_at(s, c);
    }
    lt::expect("lmt::uniform_at == independent reference Philox, 1000 random (seed, counter)", ok);
    const int64_t n = 1000000;
    const uint64_t seed = lt::rng()(), off = lt::rng()() >> 1;
    std::vector<float> u(n);
    lt::expect_status("fill_uniform n=1e6", lmt_fill_uniform(u.data(), n, -2.0f, 3.0f, seed, off), LMT_OK);
    double mean = 0, lo = 1e30, hi = -1e30;
    for (float v : u) mean += v, lo = std::fmin(lo, v), hi = std::fmax(hi, v);
    mean /= n;
    lt::expect("fill_uniform in [-2, 3)", lo >= -2.0 && hi < 3.0);
    lt::expect("fill_uniform spans the interval (min < -1.99, max > 2.99)", lo < -1.99 && hi > 2.99);
    // sd of the mean = 5/sqrt(12)/1000 = 0.0014; allow ~7 sd.
    lt::expect_close("fill_uniform mean vs 0.5 (abs)", std::fabs(mean - 0.5), 0.01);
    lt::expect_close("fill_uniform vs reference", lt::max_err(u, ref::fill_uniform(n, -2, 3, seed, off)), 1e-6);
    std::vector<float> u2(1000);
    lmt_fill_uniform(u2.data(), 1000, -2.0f, 3.0f, seed, off + 500);
    lt::expect("fill_uniform element i uses counter offset+i", std::memcmp(u2.data(), u.data() + 500, 1000 * 4) == 0);
    std::vector<float> c(17);
    lmt_fill_uniform(c.data(), 17, 1.5f, 1.5f, seed, off);
    bool all = true;
    for (float v : c) all = all && v == 1.5f;
    lt::expect("fill_uniform lo == hi gives lo", all);
    lt::expect_status("fill_uniform lo > hi", lmt_fill_uniform(c.data(), 17, 2.0f, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("fill_uniform lo = NaN", lmt_fill_uniform(c.data(), 17, NAN, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("fill_uniform null out", lmt_fill_uniform(nullptr, 17, 0.0f, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("fill_uniform n=-1", lmt_fill_uniform(c.data(), -1, 0.0f, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
  }

  // ---- Philox normal ----
  {
    const int64_t n = 1000000;
    const uint64_t seed = lt::rng()(), off = lt::rng()() >> 1;
    std::vector<float> z1(n), z2(n);
    lmt_set_num_threads(1);
    lt::expect_status("fill_normal n=1e6 (1 thread)", lmt_fill_normal(z1.data(), n, 1.5f, 2.0f, seed, off), LMT_OK);
    lmt_set_num_threads(2);
    lmt_fill_normal(z2.data(), n, 1.5f, 2.0f, seed, off);
    lt::expect("fill_normal 1 vs 2 threads bitwise", same_bits(z1, z2));
    double m = 0, s2 = 0, m4 = 0;
    for (float v : z1) m += v;
    m /= n;
    for (float v : z1) s2 += (v - m) * (v - m), m4 += std::pow((v - m) / 2.0, 4);
    double sd = std::sqrt(s2 / (n - 1));
    m4 /= n;
    // sd of the mean = 0.002, of the sample sd ~ 0.0014, of the 4th moment ~ 0.01.
    lt::expect_close("fill_normal mean vs 1.5 (abs)", std::fabs(m - 1.5), 0.012);
    lt::expect_close("fill_normal std vs 2.0 (abs)", std::fabs(sd - 2.0), 0.01);
    lt::expect_close("fill_normal kurtosis vs 3 (abs)", std::fabs(m4 - 3.0), 0.08);
    lt::expect_close("fill_normal vs reference Box-Muller", lt::max_err(z1, ref::fill_normal(n, 1.5, 2.0, seed, off)), 1e-6);
    std::vector<float> z3(100);
    lmt_fill_normal(z3.data(), 100, 1.5f, 2.0f, seed, off + 7);
    lt::expect("fill_normal element i uses counter offset+i", std::memcmp(z3.data(), z1.data() + 7, 400) == 0);
    lt::expect_status("fill_normal std < 0", lmt_fill_normal(z3.data(), 100, 0.0f, -1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("fill_normal null out", lmt_fill_normal(nullptr, 100, 0.0f, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("fill_normal n=-5", lmt_fill_normal(z3.data(), -5, 0.0f, 1.0f, 0, 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("fill_normal n=0 no-op", lmt_fill_normal(nullptr, 0, 0.0f, 1.0f, 0, 0), LMT_OK);
  }
  return lt::finish();
}
