// Reductions over the middle axis of x viewed as (outer, dim, inner): SUM, MEAN, MAX (with
// first-index argmax), and their backward.
//
// Contract: outputs are written with `=`. SUM and MEAN accumulate each output element in
// double, in one fixed order (d = 0..dim-1, split into four interleaved partial sums when
// inner == 1), so results are bitwise independent of the thread count. MAX propagates NaN:
// the first NaN along the axis wins, as in torch.max.
#include <algorithm>

#include "checks.h"
#include "core.h"

namespace {

const int64_t kWork = 16384;  // elements of x per parallel chunk, roughly
const int64_t kBlock = 512;   // inner columns reduced together when inner > 1

// True when v should replace the running maximum m (strictly greater, or the first NaN).
inline bool beats(float v, float m) { return v > m || (v != v && m == m); }

// inner == 1: each output is one contiguous row of length dim.
void reduce_rows(float* out, int32_t* argmax, const float* x, int64_t outer, int64_t dim,
                 int op) {
  lmt::parallel_for(outer, std::max<int64_t>(1, kWork / dim), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const float* row = x + o * dim;
      if (op == LMT_RED_MAX) {
        float m = row[0];
        int64_t best = 0;
        for (int64_t d = 1; d < dim; ++d)
          if (beats(row[d], m)) {
            m = row[d];
            best = d;
          }
        out[o] = m;
        if (argmax) argmax[o] = (int32_t)best;
        continue;
      }
      // Four partial sums break the add latency chain; their order is fixed.
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t d = 0;
      for (; d + 4 <= dim; d += 4) {
        s0 += row[d];
        s1 += row[d + 1];
        s2 += row[d + 2];
        s3 += row[d + 3];
      }
      for (; d < dim; ++d) s0 += row[d];
      double s = (s0 + s1) + (s2 + s3);
      out[o] = (float)(op == LMT_RED_MEAN ? s / (double)dim : s);
    }
  });
}

// inner > 1: walk the dim rows of one (outer, column block) tile, adding whole rows into a
// column accumulator, so memory is read contiguously and the adds vectorise.
void reduce_cols(float* out, int32_t* argmax, const float* x, int64_t outer, int64_t dim,
                 int64_t inner, int op) {
  const int64_t nblk = (inner + kBlock - 1) / kBlock;
  const int64_t tile = dim * std::min(inner, kBlock);
  lmt::parallel_for(outer * nblk, std::max<int64_t>(1, kWork / tile), [&](int64_t b, int64_t e) {
    double acc[kBlock];
    float mx[kBlock];
    int32_t arg[kBlock];
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / nblk, i0 = (t % nblk) * kBlock;
      const int64_t w = std::min(kBlock, inner - i0);
      const float* base = x + o * dim * inner + i0;
      float* dst = out + o * inner + i0;
      if (op == LMT_RED_MAX) {
        for (int64_t j = 0; j < w; ++j) {
          mx[j] = base[j];
          arg[j] = 0;
        }
        for (int64_t d = 1; d < dim; ++d) {
          const float* row = base + d * inner;
          for (int64_t j = 0; j < w; ++j)
            if (beats(row[j], mx[j])) {
              mx[j] = row[j];
              arg[j] = (int32_t)d;
            }
        }
        for (int64_t j = 0; j < w; ++j) dst[j] = mx[j];
        if (argmax)
          for (int64_t j = 0; j < w; ++j) argmax[o * inner + i0 + j] = arg[j];
        continue;
      }
      for (int64_t j = 0; j < w; ++j) acc[j] = 0.0;
      for (int64_t d = 0; d < dim; ++d) {
        const float* row = base + d * inner;
        for (int64_t j = 0; j < w; ++j) acc[j] += (double)row[j];
      }
      if (op == LMT_RED_MEAN)
        for (int64_t j = 0; j < w; ++j) dst[j] = (float)(acc[j] / (double)dim);
      else
        for (int64_t j = 0; j < w; ++j) dst[j] = (float)acc[j];
    }
  });
}

}  // namespace

extern "C" lmt_status lmt_reduce(float* out, int32_t* argmax, const float* x, int64_t outer,
                                 int64_t dim, int64_t inner, int op) {
  LMT_CHECK(lmt::check_reduce(__func__, out, argmax, x, outer, dim, inner, op));
  if (outer == 0 || inner == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // argmax is optional even for MAX: only the backward pass needs it.
  int32_t* am = op == LMT_RED_MAX ? argmax : nullptr;
  if (inner == 1)
    reduce_rows(out, am, x, outer, dim, op);
  else
    reduce_cols(out, am, x, outer, dim, inner, op);
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_reduce_backward(float* dx, const float* dout, const int32_t* argmax,
                                          int64_t outer, int64_t dim, int64_t inner, int op) {
  LMT_CHECK(lmt::check_reduce_backward(__func__, dx, dout, argmax, outer, dim, inner, op));
  if (outer == 0 || inner == 0) return LMT_OK;
  // Checked up front so that a bad index leaves dx untouched.
  if (op == LMT_RED_MAX) LMT_CHECK(lmt::check_ids(__func__, "argmax", argmax, outer * inner, dim));
  LMT_GUARD_BEGIN
  const float fdim = (float)dim;
  lmt::parallel_for(outer * dim, std::max<int64_t>(1, kWork / inner), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {  // r = o * dim + d: one row of `inner` elements
      const int64_t o = r / dim, d = r % dim;
      const float* g = dout + o * inner;
      float* row = dx + r * inner;
      if (op == LMT_RED_SUM) {
        for (int64_t i = 0; i < inner; ++i) row[i] = g[i];
      } else if (op == LMT_RED_MEAN) {
        for (int64_t i = 0; i < inner; ++i) row[i] = g[i] / fdim;
      } else {
        const int32_t* am = argmax + o * inner;
        for (int64_t i = 0; i < inner; ++i) row[i] = am[i] == d ? g[i] : 0.0f;
      }
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
