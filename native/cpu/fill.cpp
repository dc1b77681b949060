// Fill, cast, strided gather/scatter-add, and counter-based random fills.
//
// Contract: every kernel here writes its output with `=`, except lmt_scatter_add_strided,
// which adds into `out` (the adjoint of a gather must accumulate when strides overlap).
// No accumulation across elements happens anywhere else, so every output is bitwise
// independent of the thread count. Random fills draw element i from Philox counter
// (offset + i) under key `seed`; the CUDA backend uses the same formulas.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "checks.h"
#include "core.h"
#include "view.h"

namespace {

const int64_t kGrain = 16384;
// Transpose tile edge: 8 source and 8 destination lines stay within an 8-way L1 set even
// for power-of-two strides, where a 32-wide tile thrashes.
const int64_t kTile = 8;

// One strided operand (operand 0 of lmt::StridedView), collapsed so that a transpose or slice
// of a contiguous block walks long inner runs.
using View = lmt::StridedView;
inline View collapse(int ndim, const int64_t* shape, const int64_t* strides) {
  return lmt::collapse_view(ndim, shape, &strides, 1);
}

// Calls fn(i, off, len) for each run of flat indices [i, i+len) within [begin, end) that
// lies along the innermost dimension; `off` is the strided offset of index i.
template <class F>
void for_each_run(const View& v, int64_t begin, int64_t end, F&& fn) {
  int64_t idx[8];
  int64_t rem = begin, off = 0;
  for (int d = v.nd - 1; d >= 0; --d) {
    idx[d] = rem % v.shape[d];
    rem /= v.shape[d];
    off += idx[d] * v.st[0][d];
  }
  const int last = v.nd - 1;
  int64_t i = begin;
  while (i < end) {
    int64_t len = v.shape[last] - idx[last];
    if (len > end - i) len = end - i;
    fn(i, off, len);
    i += len;
    if (i >= end) break;
    // Advance the multi-index to the start of the next inner run.
    off += (v.shape[last] - idx[last]) * v.st[0][last];
    idx[last] = v.shape[last];
    for (int d = last; d > 0 && idx[d] == v.shape[d]; --d) {
      off -= idx[d] * v.st[0][d];
      idx[d] = 0;
      ++idx[d - 1];
      off += v.st[0][d - 1];
    }
  }
}

// True when distinct indices of v map to distinct offsets: sorted by |stride|, each
// stride must step past everything the smaller dimensions can reach.
bool injective(const View& v) {
  int64_t s[8], e[8];
  for (int d = 0; d < v.nd; ++d) {
    s[d] = v.st[0][d] < 0 ? -v.st[0][d] : v.st[0][d];
    e[d] = v.shape[d];
  }
  for (int a = 1; a < v.nd; ++a)  // insertion sort, nd <= 8
    for (int b = a; b > 0 && s[b] < s[b - 1]; --b) {
      std::swap(s[b], s[b - 1]);
      std::swap(e[b], e[b - 1]);
    }
  int64_t reach = 0;  // max distance covered by the dimensions so far
  for (int d = 0; d < v.nd; ++d) {
    if (e[d] == 1) continue;
    if (s[d] <= reach) return false;
    reach += (e[d] - 1) * s[d];
  }
  return true;
}

}  // namespace

extern "C" lmt_status lmt_fill(float* out, float value, int64_t n) {
  LMT_CHECK(lmt::check_fill(__func__, out, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(n, 4 * kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = value;
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_fill_i32(int32_t* out, int32_t value, int64_t n) {
  LMT_CHECK(lmt::check_fill(__func__, out, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(n, 4 * kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = value;
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cast_i32_f32(float* out, const int32_t* x, int64_t n) {
  LMT_CHECK(lmt::check_map(__func__, out, x, n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = (float)x[i];
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_copy_strided(float* out, const float* x, int64_t x_numel, int ndim,
                                       const int64_t* shape, const int64_t* strides,
                                       int64_t offset) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_copy_strided(__func__, out, x, x_numel, ndim, shape, strides, offset, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  View v = collapse(ndim, shape, strides);
  const float* base = x + offset;
  const int nd = v.nd;
  if (nd >= 2 && v.st[0][nd - 2] == 1 && v.st[0][nd - 1] != 1 && v.st[0][nd - 1] != 0) {
    // A transpose of the last two dims: a row-by-row gather would touch one cache line
    // per element, so copy kTile x kTile tiles, reading along the source's contiguous dim.
    const int64_t R = v.shape[nd - 2], Cc = v.shape[nd - 1], s = v.st[0][nd - 1];
    const int64_t planes = n / (R * Cc), rtiles = (R + kTile - 1) / kTile;
    lmt::parallel_for(planes * rtiles, std::max<int64_t>(1, kGrain / (kTile * Cc)), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t p = t / rtiles, r0 = (t % rtiles) * kTile, r1 = std::min(R, r0 + kTile);
        int64_t poff = 0, rem = p;  // source offset of plane p (dims 0..nd-3)
        for (int d = nd - 3; d >= 0; --d) {
          poff += (rem % v.shape[d]) * v.st[0][d];
          rem /= v.shape[d];
        }
        const float* src = base + poff;
        float* dst = out + p * R * Cc;
        for (int64_t c0 = 0; c0 < Cc; c0 += kTile) {
          const int64_t c1 = std::min(Cc, c0 + kTile);
          for (int64_t c = c0; c < c1; ++c)
            for (int64_t r = r0; r < r1; ++r) dst[r * Cc + c] = src[r + c * s];
        }
      }
    });
    return LMT_OK;
  }
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for_each_run(v, b, e, [&](int64_t i, int64_t off, int64_t len) {
      const float* src = base + off;
      float* dst = out + i;
      const int64_t s = v.st[0][v.nd - 1];
      if (s == 1) {
        std::memcpy(dst, src, (size_t)len * sizeof(float));
      } else if (s == 0) {
        const float val = *src;
        for (int64_t j = 0; j < len; ++j) dst[j] = val;
      } else {
        for (int64_t j = 0; j < len; ++j) dst[j] = src[j * s];
      }
    });
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_scatter_add_strided(float* out, int64_t out_numel, const float* x,
                                              int ndim, const int64_t* shape,
                                              const int64_t* strides, int64_t offset) {
  int64_t n = 0;
  LMT_CHECK(lmt::check_scatter_add_strided(__func__, out, out_numel, x, ndim, shape, strides,
                                           offset, &n));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  View v = collapse(ndim, shape, strides);
  float* base = out + offset;
  auto body = [&](int64_t b, int64_t e) {
    for_each_run(v, b, e, [&](int64_t i, int64_t off, int64_t len) {
      float* dst = base + off;
      const float* src = x + i;
      const int64_t s = v.st[0][v.nd - 1];
      for (int64_t j = 0; j < len; ++j) dst[j * s] += src[j];
    });
  };
  // When two indices can land on the same element (stride 0, overlapping windows) the
  // adds must happen in one fixed order, so the result does not depend on the threads.
  if (injective(v))
    lmt::parallel_for(n, kGrain, body);
  else
    body(0, n);
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_fill_uniform(float* out, int64_t n, float lo, float hi, uint64_t seed,
                                       uint64_t offset) {
  LMT_CHECK(lmt::check_fill_uniform(__func__, out, n, lo, hi));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  const float width = hi - lo;
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float r = lo + width * lmt::uniform_at(seed, offset + (uint64_t)i);
      // Rounding can carry lo + width*u up to hi itself; keep the interval half-open.
      out[i] = r < hi ? r : std::nextafter(hi, lo);
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_fill_normal(float* out, int64_t n, float mean, float std, uint64_t seed,
                                      uint64_t offset) {
  LMT_CHECK(lmt::check_fill_normal(__func__, out, n, mean, std));
  if (n == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      // One normal per element (the sine half of Box-Muller is discarded) so that element
      // i depends on counter offset+i alone. u1 is in (0,1): the +0.5 keeps log finite, and
      // the full 32 bits reach 6.6 sigma in the tails.
      lmt::Philox4 r = lmt::philox4x32(seed, offset + (uint64_t)i);
      double u1 = ((double)r.v[0] + 0.5) * (1.0 / 4294967296.0);
      double u2 = (double)r.v[1] * (1.0 / 4294967296.0);
      double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586477 * u2);
      out[i] = (float)((double)mean + (double)std * z);
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
