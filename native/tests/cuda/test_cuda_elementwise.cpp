// CUDA unary (forward, backward from y and from x), broadcasting binary ops and `where`
// against the CPU kernels on the same inputs. Ops that are exact in IEEE arithmetic must match
// bitwise; exp, log, tanh, sigmoid and pow (CUDA's libm vs glibc) within 1e-5.
#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

using Shape = std::vector<int64_t>;

static std::string S(int64_t n) { return std::to_string(n); }

static const char* kUn[] = {"neg", "exp", "log", "tanh", "sqrt", "rsqrt", "relu", "sigmoid",
                            "abs", "square", "reciprocal"};
static const char* kBin[] = {"add", "sub", "mul", "div", "max", "min", "pow"};

static bool un_transcendental(int op) {
  return op == LMT_UN_EXP || op == LMT_UN_LOG || op == LMT_UN_TANH || op == LMT_UN_SIGMOID;
}
static bool un_needs_positive(int op) {
  return op == LMT_UN_LOG || op == LMT_UN_SQRT || op == LMT_UN_RSQRT;
}

// Exact ops bitwise (NaN == NaN), the others by normalised error.
static void compare(const std::string& what, const std::vector<float>& got,
                    const std::vector<float>& ref, bool exact) {
  if (exact)
    lt::expect(what + " bitwise == cpu", ct::same(got, ref));
  else
    lt::expect_close(what + " vs cpu", lt::max_err(got, ref), 1e-5);
}

static std::vector<float> unary_input(int op, int64_t n) {
  std::vector<float> x = un_needs_positive(op) ? lt::uniform(n, 0.01f, 10.0f) : lt::randn(n, 3.0f);
  // Edge values the kernels must treat like the CPU: zeros of both signs, infinities, NaN.
  const float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 100.0f, -100.0f, 1e-30f};
  if (n >= 64)
    for (int k = 0; k < 8; ++k) x[(size_t)(k * 7 + 3)] = edge[k];
  return x;
}

static void test_unary() {
  for (int op = 0; op < LMT_UN_COUNT; ++op) {
    const bool tr = un_transcendental(op);
    for (int64_t n : {(int64_t)1, (int64_t)257, (int64_t)1000, (int64_t)1000003}) {
      std::vector<float> x = unary_input(op, n);
      ct::Dev<float> dx(x);
      const std::string base = std::string("unary ") + kUn[op] + " n=" + S(n);
      // Plain op and affine epilogue.
      for (int affine = 0; affine < 2; ++affine) {
        const float alpha = affine ? -2.5f : 1.0f, beta = affine ? 0.75f : 0.0f;
        std::vector<float> ref(n);
        lmt_unary(ref.data(), x.data(), n, op, alpha, beta);
        ct::Dev<float> dout(std::vector<float>(n, 9e9f));
        if (ct::ok("lmt_cuda_unary", lmt_cuda_unary(dout.p, dx.p, n, op, alpha, beta)))
          compare(base + (affine ? " alpha=-2.5 beta=0.75" : ""), dout.get(), ref, !tr);
      }
      // Backward: from y (and x) as autograd calls it, and from x alone.
      std::vector<float> y(n), g = lt::randn(n);
      lmt_unary(y.data(), x.data(), n, op, 1.0f, 0.0f);
      ct::Dev<float> dy(y), dg(g);
      std::vector<float> ref(n);
      lmt_unary_backward(ref.data(), g.data(), x.data(), y.data(), n, op);
      ct::Dev<float> ddx(std::vector<float>(n, 9e9f));
      if (ct::ok("lmt_cuda_unary_backward", lmt_cuda_unary_backward(ddx.p, dg.p, dx.p, dy.p, n, op)))
        compare(std::string("unary_backward ") + kUn[op] + " from x,y n=" + S(n), ddx.get(), ref, true);
      lmt_unary_backward(ref.data(), g.data(), x.data(), nullptr, n, op);
      ct::Dev<float> ddx2(std::vector<float>(n, 9e9f));
      if (ct::ok("lmt_cuda_unary_backward", lmt_cuda_unary_backward(ddx2.p, dg.p, dx.p, nullptr, n, op)))
        compare(std::string("unary_backward ") + kUn[op] + " from x n=" + S(n), ddx2.get(), ref,
                !(op == LMT_UN_EXP || op == LMT_UN_TANH || op == LMT_UN_SIGMOID));
    }
  }
  {
    // In place: out aliases x.
    const int64_t n = 100003;
    std::vector<float> x = lt::randn(n), ref(n);
    lmt_unary(ref.data(), x.data(), n, LMT_UN_SQUARE, 0.5f, -1.0f);
    ct::Dev<float> dx(x);
    if (ct::ok("lmt_cuda_unary", lmt_cuda_unary(dx.p, dx.p, n, LMT_UN_SQUARE, 0.5f, -1.0f)))
      lt::expect("unary square in place bitwise == cpu", ct::same(dx.get(), ref));
  }
  lt::expect_status("cuda unary n=-1 == cpu", lmt_cuda_unary(nullptr, nullptr, -1, 0, 1.0f, 0.0f),
                    lmt_unary(nullptr, nullptr, -1, 0, 1.0f, 0.0f));
  lt::expect_status("cuda unary n=-1 -> INVALID_ARG", lmt_cuda_unary(nullptr, nullptr, -1, 0, 1.0f, 0.0f), LMT_ERR_INVALID_ARG);
  lt::expect_status("cuda unary bad op -> INVALID_ARG", lmt_cuda_unary(nullptr, nullptr, 4, LMT_UN_COUNT, 1.0f, 0.0f), LMT_ERR_INVALID_ARG);
  {
    ct::Dev<float> d(4);
    lt::expect_status("cuda unary_backward log without x -> INVALID_ARG",
                      lmt_cuda_unary_backward(d.p, d.p, nullptr, d.p, 4, LMT_UN_LOG), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda unary_backward exp without x and y -> INVALID_ARG",
                      lmt_cuda_unary_backward(d.p, d.p, nullptr, nullptr, 4, LMT_UN_EXP), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda unary_backward neg without x and y -> OK",
                      lmt_cuda_unary_backward(d.p, d.p, nullptr, nullptr, 4, LMT_UN_NEG), LMT_OK);
  }
}

// One broadcast operand: `src` has the output's rank with 1 on broadcast dims.
static Shape bstrides(const Shape& shape, const Shape& src) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int d = (int)shape.size() - 1; d >= 0; --d) {
    st[d] = src[d] == 1 ? 0 : s;
    s *= src[d];
  }
  return st;
}
static int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

struct BCase {
  std::string name;
  Shape shape, a_st, b_st;
  int64_t na, nb;
};

static std::vector<BCase> bcases() {
  std::vector<BCase> cs;
  auto add = [&](const std::string& name, const Shape& shape, const Shape& as, const Shape& bs) {
    cs.push_back({name, shape, bstrides(shape, as), bstrides(shape, bs), numel(as), numel(bs)});
  };
  add("same shape (1000003)", {1000003}, {1000003}, {1000003});
  add("bias (257,1000)+(1000)", {257, 1000}, {257, 1000}, {1, 1000});
  add("outer (300,1)x(1,517)", {300, 517}, {300, 1}, {1, 517});
  add("scalar b (33,65)", {33, 65}, {33, 65}, {1, 1});
  add("scalar a (1000)", {1000}, {1}, {1000});
  add("middle broadcast (5,9,7): a (5,1,7), b (1,9,1)", {5, 9, 7}, {5, 1, 7}, {1, 9, 1});
  add("8-d (2,3,2,1,3,2,2,3) b broadcast on dims 1,5", {2, 3, 2, 1, 3, 2, 2, 3},
      {2, 3, 2, 1, 3, 2, 2, 3}, {2, 1, 2, 1, 3, 1, 2, 3});
  add("one element (1)", {1}, {1}, {1});
  add("row broadcast (1000,1009)+(1000,1)", {1000, 1009}, {1000, 1009}, {1000, 1});
  add("257 not a block multiple (257)+(1)", {257}, {257}, {1});
  cs.push_back({"0-d", {}, {}, {}, 1, 1});
  // a transposed: a is stored (129,64), read as (64,129).
  cs.push_back({"transposed a (64,129)", {64, 129}, {1, 64}, {129, 1}, 64 * 129, 64 * 129});
  // b read backwards through a negative stride.
  cs.push_back({"flipped b (1000)", {1000}, {1}, {-1}, 1000, 1000});
  return cs;
}

static void test_binary() {
  const std::vector<BCase> cs = bcases();
  for (int op = 0; op < LMT_BIN_COUNT; ++op) {
    for (const BCase& c : cs) {
      const int64_t n = numel(c.shape);
      const int nd = (int)c.shape.size();
      std::vector<float> a, b;
      if (op == LMT_BIN_POW) {
        a = lt::uniform(c.na, 0.1f, 4.0f);
        b = lt::uniform(c.nb, -3.0f, 3.0f);
      } else {
        a = lt::randn(c.na);
        b = lt::randn(c.nb);
      }
      if (op == LMT_BIN_MAX || op == LMT_BIN_MIN) {  // NaN propagation, either side
        a[0] = NAN;
        if (c.nb > 3) b[3] = NAN;
        if (c.na > 5) a[5] = -0.0f;
        if (c.nb > 5) b[5] = 0.0f;
      }
      // The flipped case reads b at offset (n-1) - i: pass b + (nb-1) as the base.
      const int64_t boff = c.b_st.size() == 1 && c.b_st[0] < 0 ? c.nb - 1 : 0;
      std::vector<float> ref(n, 9e9f);
      lmt_status cst = lmt_binary(ref.data(), a.data(), b.data() + boff, nd, c.shape.data(),
                                  c.a_st.data(), c.b_st.data(), op);
      ct::Dev<float> da(a), db(b), dout(std::vector<float>(n, 9e9f));
      lmt_status gst = lmt_cuda_binary(dout.p, da.p, db.p + boff, nd, c.shape.data(),
                                       c.a_st.data(), c.b_st.data(), op);
      if (cst != LMT_OK || gst != LMT_OK) {
        lt::expect_status(std::string("binary ") + kBin[op] + " " + c.name, gst, cst);
        continue;
      }
      compare(std::string("binary ") + kBin[op] + " " + c.name, dout.get(), ref, op != LMT_BIN_POW);
    }
  }
  {
    const Shape sh9 = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    ct::Dev<float> d(4);
    lt::expect_status("cuda binary ndim=9 == cpu",
                      lmt_cuda_binary(d.p, d.p, d.p, 9, sh9.data(), sh9.data(), sh9.data(), 0),
                      lmt_binary(nullptr, nullptr, nullptr, 9, sh9.data(), sh9.data(), sh9.data(), 0));
    lt::expect_status("cuda binary ndim=9 -> INVALID_ARG",
                      lmt_cuda_binary(d.p, d.p, d.p, 9, sh9.data(), sh9.data(), sh9.data(), 0), LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda binary bad op -> INVALID_ARG",
                      lmt_cuda_binary(d.p, d.p, d.p, 1, sh9.data(), sh9.data(), sh9.data(), LMT_BIN_COUNT),
                      LMT_ERR_INVALID_ARG);
    const Shape neg = {-2};
    lt::expect_status("cuda binary shape -2 -> INVALID_ARG",
                      lmt_cuda_binary(d.p, d.p, d.p, 1, neg.data(), sh9.data(), sh9.data(), 0), LMT_ERR_INVALID_ARG);
    const Shape zero = {0};
    lt::expect_status("cuda binary empty, null pointers -> OK",
                      lmt_cuda_binary(nullptr, nullptr, nullptr, 1, zero.data(), sh9.data(), sh9.data(), 0), LMT_OK);
  }
}

static void test_where() {
  struct WCase {
    std::string name;
    Shape shape, c_src, a_src, b_src;
  };
  const std::vector<WCase> ws = {
      {"all (1000003)", {1000003}, {1000003}, {1000003}, {1000003}},
      {"cond (257,1) a (257,999) b scalar", {257, 999}, {257, 1}, {257, 999}, {1, 1}},
      {"cond (1,1,7) a (3,1,7) b (3,5,1)", {3, 5, 7}, {1, 1, 7}, {3, 1, 7}, {3, 5, 1}},
      {"one element", {1}, {1}, {1}, {1}},
  };
  for (const WCase& w : ws) {
    const int64_t n = numel(w.shape), nc = numel(w.c_src), na = numel(w.a_src), nb = numel(w.b_src);
    const Shape cs = bstrides(w.shape, w.c_src), as = bstrides(w.shape, w.a_src), bs = bstrides(w.shape, w.b_src);
    std::vector<int32_t> ci = lt::randint(nc, 0, 3);
    std::vector<float> cond(nc);
    for (int64_t i = 0; i < nc; ++i) cond[i] = ci[i] == 0 ? 0.0f : (ci[i] == 1 ? 1.0f : -0.5f);
    if (nc > 2) {
      cond[1] = NAN;  // NaN != 0: picks a
      cond[2] = -0.0f;  // -0 == 0: picks b
    }
    std::vector<float> a = lt::randn(na), b = lt::randn(nb), ref(n, 9e9f);
    const int nd = (int)w.shape.size();
    lmt_where(ref.data(), cond.data(), a.data(), b.data(), nd, w.shape.data(), cs.data(), as.data(), bs.data());
    ct::Dev<float> dc(cond), da(a), db(b), dout(std::vector<float>(n, 9e9f));
    if (ct::ok("lmt_cuda_where", lmt_cuda_where(dout.p, dc.p, da.p, db.p, nd, w.shape.data(), cs.data(),
                                                as.data(), bs.data())))
      lt::expect("where " + w.name + " bitwise == cpu", ct::same(dout.get(), ref));
  }
  {
    const Shape sh = {4}, st = {1};
    ct::Dev<float> d(4);
    lt::expect_status("cuda where null cond_strides -> INVALID_ARG",
                      lmt_cuda_where(d.p, d.p, d.p, d.p, 1, sh.data(), nullptr, st.data(), st.data()),
                      LMT_ERR_INVALID_ARG);
    lt::expect_status("cuda where ndim=-1 -> INVALID_ARG",
                      lmt_cuda_where(d.p, d.p, d.p, d.p, -1, sh.data(), st.data(), st.data(), st.data()),
                      LMT_ERR_INVALID_ARG);
  }
}

int main() {
  ct::require_device();
  lt::seed();
  test_unary();
  test_binary();
  test_where();
  lt::expect_status("cuda synchronize after all kernels", lmt_cuda_synchronize(), LMT_OK);
  return lt::finish();
}
