// Embedding lookup and axis gather, with their scatter-add adjoints.
//
// Accumulation contract: outputs are written with `=`; the backward kernels clear their
// output, then sum rows into it. Every id is checked before anything is written, so an
// LMT_ERR_INDEX leaves the outputs untouched. Backward is race-free and deterministic: each
// output row is owned by one task, which adds its contributions in increasing position.
#include <algorithm>
#include <cstring>

#include "checks.h"
#include "core.h"

extern "C" lmt_status lmt_embedding_forward(float* out, const int32_t* ids, const float* weight,
                                            int64_t N, int64_t V, int64_t C) {
  LMT_CHECK(lmt::check_embedding_forward(__func__, lmt::check_ids, out, ids, weight, N, V, C));
  if (N == 0 || C == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  lmt::parallel_for(N, std::max<int64_t>(1, 8192 / C), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i)
      std::memcpy(out + i * C, weight + (int64_t)ids[i] * C, (size_t)C * sizeof(float));
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_embedding_backward(float* dweight, const float* dout,
                                             const int32_t* ids, int64_t N, int64_t V,
                                             int64_t C) {
  LMT_CHECK(
      lmt::check_embedding_backward(__func__, lmt::check_ids, dweight, dout, ids, N, V, C));
  if (V == 0 || C == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // Each task owns a range of vocabulary rows and scans all ids for the ones it owns: no two
  // tasks touch the same row, and each row's sum runs in position order.
  lmt::parallel_for(V, std::max<int64_t>(1, 8192 / C), [&](int64_t v0, int64_t v1) {
    std::fill(dweight + v0 * C, dweight + v1 * C, 0.0f);
    for (int64_t i = 0; i < N; ++i) {
      int64_t id = ids[i];
      if (id < v0 || id >= v1) continue;
      float* dw = dweight + id * C;  // (C)
      const float* g = dout + i * C;
      for (int64_t j = 0; j < C; ++j) dw[j] += g[j];
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_gather(float* out, const float* x, const int32_t* idx, int64_t outer,
                                 int64_t dim, int64_t inner, int64_t n_idx) {
  LMT_CHECK(lmt::check_gather(__func__, lmt::check_ids, out, x, idx, outer, dim, inner, n_idx));
  if (n_idx == 0 || outer == 0 || inner == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // out (outer, n_idx, inner) <- x (outer, dim, inner): one task per output row of `inner`.
  lmt::parallel_for(outer * n_idx, std::max<int64_t>(1, 8192 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t o = r / n_idx, k = r % n_idx;
      std::memcpy(out + r * inner, x + (o * dim + idx[k]) * inner, (size_t)inner * sizeof(float));
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}

extern "C" lmt_status lmt_gather_backward(float* dx, const float* dout, const int32_t* idx,
                                          int64_t outer, int64_t dim, int64_t inner,
                                          int64_t n_idx) {
  LMT_CHECK(lmt::check_gather_backward(__func__, lmt::check_ids, dx, dout, idx, outer, dim, inner,
                                       n_idx));
  if (outer == 0 || dim == 0 || inner == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // Tasks own (outer slice, column range of inner): disjoint parts of dx, so no races, and
  // each element sums its contributions in index order whatever the split.
  const int64_t COLS = 1024;
  int64_t col_blocks = (inner + COLS - 1) / COLS;
  lmt::parallel_for(outer * col_blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t o = t / col_blocks, c0 = (t % col_blocks) * COLS;
      int64_t c1 = std::min(inner, c0 + COLS);
      float* dxo = dx + o * dim * inner;  // (dim, inner)
      for (int64_t d = 0; d < dim; ++d) std::fill(dxo + d * inner + c0, dxo + d * inner + c1, 0.0f);
      for (int64_t k = 0; k < n_idx; ++k) {
        float* dst = dxo + (int64_t)idx[k] * inner;
        const float* src = dout + (o * n_idx + k) * inner;
        for (int64_t j = c0; j < c1; ++j) dst[j] += src[j];
      }
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
