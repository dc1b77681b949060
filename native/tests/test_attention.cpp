// Fused attention forward/backward against the reference that materialises the whole score
// matrix: Tq != Tk (KV-cache shapes), causal with offset, key masks with a fully masked
// batch, bias with bias_B = 1 and B, head sizes 1..64, sizes off the tile grid; bitwise
// equality for 1 vs 2 threads; argument errors.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ops_b.h"
#include "test_util.h"

namespace {

struct Case {
  int64_t B, NH, Tq, Tk, HS;
  int causal;
  int bias_mode;  // 0 none, 1 bias_B = 1, 2 bias_B = B
  bool mask;      // random -inf keys, and the last batch fully masked
};

struct Result {
  std::vector<float> out, lse, dq, dk, dv, dbias;
};

struct Inputs {
  std::vector<float> q, k, v, bias, mask, dout;
};

Inputs make_inputs(const Case& c) {
  Inputs in;
  in.q = lt::randn(c.B * c.NH * c.Tq * c.HS);
  in.k = lt::randn(c.B * c.NH * c.Tk * c.HS);
  in.v = lt::randn(c.B * c.NH * c.Tk * c.HS);
  in.dout = lt::randn(c.B * c.NH * c.Tq * c.HS);
  int64_t bias_B = c.bias_mode == 2 ? c.B : 1;
  if (c.bias_mode) in.bias = lt::randn(bias_B * c.NH * c.Tq * c.Tk);
  if (c.mask) {
    in.mask = lt::uniform(c.B * c.Tk, 0, 1);
    for (int64_t i = 0; i < c.B * c.Tk; ++i) {
      bool hidden = in.mask[i] < 0.3f || i / c.Tk == c.B - 1;
      in.mask[i] = hidden ? -INFINITY : 0.0f;
    }
  }
  return in;
}

lmt_status run(const Case& c, const Inputs& in, Result& r) {
  int64_t bias_B = c.bias_mode == 2 ? c.B : 1;
  float scale = 1.0f / std::sqrt((float)c.HS);
  r.out.assign(c.B * c.NH * c.Tq * c.HS, NAN);
  r.lse.assign(c.B * c.NH * c.Tq, NAN);
  r.dq.assign(in.q.size(), NAN);
  r.dk.assign(in.k.size(), NAN);
  r.dv.assign(in.v.size(), NAN);
  r.dbias.assign(in.bias.size(), NAN);
  const float* bias = c.bias_mode ? in.bias.data() : nullptr;
  const float* mask = c.mask ? in.mask.data() : nullptr;
  lmt_status s = lmt_attention_forward(r.out.data(), r.lse.data(), in.q.data(), in.k.data(),
                                       in.v.data(), bias, mask, c.B, c.NH, c.Tq, c.Tk, c.HS,
                                       bias_B, c.causal, scale);
  if (s != LMT_OK) return s;
  return lmt_attention_backward(r.dq.data(), r.dk.data(), r.dv.data(),
                                c.bias_mode ? r.dbias.data() : nullptr, in.dout.data(),
                                in.q.data(), in.k.data(), in.v.data(), r.out.data(),
                                r.lse.data(), bias, mask, c.B, c.NH, c.Tq, c.Tk, c.HS, bias_B,
                                c.causal, scale);
}

// A row with exactly one visible key (Tk = 1, or a mask leaving one key) has dS = 0 exactly,
// so dq, dk and dbias can be all-zero in exact arithmetic and float rounding (~1e-7) would
// read as a huge relative error. There, normalise by the output gradient's scale (max |dv|).
double grad_err(const std::vector<float>& got, const ref::vec& r, const ref::vec& rdv) {
  double mr = 0, mv = 0, md = 0;
  for (double x : r) mr = std::fmax(mr, std::fabs(x));
  for (double x : rdv) mv = std::fmax(mv, std::fabs(x));
  if (mr >= 1e-6 * mv || got.size() != r.size()) return lt::max_err(got, r);
  for (size_t i = 0; i < r.size(); ++i) md = std::fmax(md, std::fabs(got[i] - r[i]));
  return std::isnan(md) ? INFINITY : md / std::fmax(mv, 1e-30);
}

bool has_nan(const std::vector<float>& v) {
  for (float x : v)
    if (std::isnan(x)) return true;
  return false;
}

void check_case(const Case& c) {
  std::string tag = "(B=" + std::to_string(c.B) + " NH=" + std::to_string(c.NH) +
                    " Tq=" + std::to_string(c.Tq) + " Tk=" + std::to_string(c.Tk) +
                    " HS=" + std::to_string(c.HS) + (c.causal ? " causal" : "") +
                    (c.bias_mode == 1 ? " bias_B=1" : c.bias_mode == 2 ? " bias_B=B" : "") +
                    (c.mask ? " key_mask" : "") + ")";
  Inputs in = make_inputs(c);
  Result r;
  lmt_status s = run(c, in, r);
  if (s != LMT_OK) {
    lt::expect_status("attention " + tag, s, LMT_OK);
    return;
  }
  int64_t bias_B = c.bias_mode == 2 ? c.B : 1;
  ref::vec rout, rlse, rdq, rdk, rdv, rdb, bias = lt::to_double(in.bias), mask = lt::to_double(in.mask);
  ref::vec q = lt::to_double(in.q), k = lt::to_double(in.k), v = lt::to_double(in.v);
  double scale = 1.0f / std::sqrt((float)c.HS);
  ref::attention_forward(rout, rlse, q, k, v, bias, mask, c.B, c.NH, c.Tq, c.Tk, c.HS, bias_B, c.causal, scale);
  ref::attention_backward(rdq, rdk, rdv, rdb, lt::to_double(in.dout), q, k, v, bias, mask, c.B, c.NH, c.Tq,
                          c.Tk, c.HS, bias_B, c.causal, scale, c.bias_mode != 0);
  lt::expect_close("attention_forward out " + tag, lt::max_err(r.out, rout), 1e-5);
  lt::expect_close("attention_forward lse " + tag, lt::max_err(r.lse, rlse), 1e-5);
  lt::expect_close("attention_backward dq " + tag, grad_err(r.dq, rdq, rdv), 1e-4);
  lt::expect_close("attention_backward dk " + tag, grad_err(r.dk, rdk, rdv), 1e-4);
  lt::expect_close("attention_backward dv " + tag, lt::max_err(r.dv, rdv), 1e-4);
  if (c.bias_mode) lt::expect_close("attention_backward dbias " + tag, grad_err(r.dbias, rdb, rdv), 1e-4);
  if (c.mask || (c.causal && c.Tq > c.Tk))
    lt::expect("no NaN anywhere with queries that see no key " + tag,
               !has_nan(r.out) && !has_nan(r.dq) && !has_nan(r.dk) && !has_nan(r.dv) && !has_nan(r.dbias));
}

}  // namespace

int main() {
  lt::seed();
  lmt_set_num_threads(2);
  const int64_t shapes[][2] = {{1, 1}, {5, 5}, {65, 65}, {130, 130}, {1, 37}, {5, 130}, {65, 37}};
  int n = 0;
  for (int64_t HS : {1, 8, 64})
    for (auto& tt : shapes)
      for (int causal : {0, 1}) {
        // Rotate bias and mask modes so every shape meets each of them across head sizes.
        int bias_mode = n % 3;
        bool mask = (n / 3) % 2 == 1;
        ++n;
        check_case(Case{2, 3, tt[0], tt[1], HS, causal, bias_mode, mask});
      }
  check_case(Case{3, 2, 130, 130, 64, 1, 1, true});
  check_case(Case{1, 1, 257, 67, 13, 0, 2, false});

  // Bitwise thread invariance (forward tiles and backward heads are independent of the split).
  for (int bias_mode : {1, 2}) {
    Case c{3, 4, 97, 131, 16, 1, bias_mode, true};
    Inputs in = make_inputs(c);
    Result r1, r2;
    lmt_set_num_threads(1);
    run(c, in, r1);
    lmt_set_num_threads(2);
    run(c, in, r2);
    auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
    };
    lt::expect("attention 1 vs 2 threads bitwise equal (out, lse, dq, dk, dv, dbias), bias_B=" +
                   std::string(bias_mode == 1 ? "1" : "B"),
               same(r1.out, r2.out) && same(r1.lse, r2.lse) && same(r1.dq, r2.dq) &&
                   same(r1.dk, r2.dk) && same(r1.dv, r2.dv) && same(r1.dbias, r2.dbias));
  }

  float buf[64] = {};
  lt::expect_status("forward null q", lmt_attention_forward(buf, buf, nullptr, buf, buf, nullptr, nullptr, 1, 1, 2, 2, 2, 1, 0, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("forward null lse", lmt_attention_forward(buf, nullptr, buf, buf, buf, nullptr, nullptr, 1, 1, 2, 2, 2, 1, 0, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("forward negative HS", lmt_attention_forward(buf, buf, buf, buf, buf, nullptr, nullptr, 1, 1, 2, 2, -2, 1, 0, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("forward causal = 2", lmt_attention_forward(buf, buf, buf, buf, buf, nullptr, nullptr, 1, 1, 2, 2, 2, 1, 2, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("forward bias_B = 3 with B = 2", lmt_attention_forward(buf, buf, buf, buf, buf, buf, nullptr, 2, 1, 2, 2, 2, 3, 0, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("backward null dk", lmt_attention_backward(buf, nullptr, buf, nullptr, buf, buf, buf, buf, buf, buf, nullptr, nullptr, 1, 1, 2, 2, 2, 1, 0, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("backward dbias without bias", lmt_attention_backward(buf, buf, buf, buf, buf, buf, buf, buf, buf, buf, nullptr, nullptr, 1, 1, 2, 2, 2, 1, 0, 1), LMT_ERR_INVALID_ARG);
  lt::expect_status("forward B = 0 no-op", lmt_attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 1, 2, 2, 2, 1, 0, 1), LMT_OK);
  return lt::finish();
}
