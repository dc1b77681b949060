// LayerNorm and RMSNorm over the last axis of x (N, C), forward and backward.
//
// Forward and the dx part of backward run one block per row (grid-stride over rows); the row
// statistics and the two row sums of backward accumulate in double, as on the CPU. The
// parameter gradients (dweight, dbias) are summed over rows without atomics: a column kernel
// gives each thread one column of a fixed chunk of rows (coalesced across the warp) and
// writes a double partial per chunk into a scratch buffer; a second kernel adds the chunks in
// order. The result is deterministic, and outputs are written with `=`.
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace {

constexpr int kColThreads = 256;

// Rows per partial-sum chunk of the parameter gradients: at most ~1024 chunks (grid.y).
int64_t chunk_rows(int64_t N) { return std::max<int64_t>(32, (N + 1023) / 1024); }

// mean (may be null: RMSNorm) and rstd saved per row.
__global__ void __launch_bounds__(1024)
    norm_fwd_kernel(float* out, float* mean, float* rstd, const float* x,
                    const float* __restrict__ weight, const float* __restrict__ bias, int64_t N,
                    int64_t C, float eps) {
  __shared__ double shd[32];
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const float* xi = x + i * C;
    float* oi = out + i * C;
    double m = 0.0, var;
    if (mean) {
      double s = 0.0;
      for (int64_t j = threadIdx.x; j < C; j += blockDim.x) s += (double)xi[j];
      m = lmt::cuda::block_sum(s, shd) / (double)C;
      // second pass over the row: no cancellation from E[x^2] - m^2
      double v = 0.0;
      for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
        const double d = (double)xi[j] - m;
        v += d * d;
      }
      var = lmt::cuda::block_sum(v, shd);
    } else {
      double ss = 0.0;
      for (int64_t j = threadIdx.x; j < C; j += blockDim.x) ss += (double)xi[j] * (double)xi[j];
      var = lmt::cuda::block_sum(ss, shd);
    }
    const float r = (float)(1.0 / ::sqrt(var / (double)C + (double)eps));
    const float mf = (float)m;
    if (bias) {
      for (int64_t j = threadIdx.x; j < C; j += blockDim.x) oi[j] = (xi[j] - mf) * r * weight[j] + bias[j];
    } else {
      for (int64_t j = threadIdx.x; j < C; j += blockDim.x) oi[j] = (xi[j] - mf) * r * weight[j];
    }
    if (threadIdx.x == 0) {
      if (mean) mean[i] = mf;
      rstd[i] = r;
    }
  }
}

// dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout * weight;
// RMSNorm (mean == null) has no mean term.
__global__ void __launch_bounds__(1024)
    norm_bwd_dx_kernel(float* dx, const float* dout, const float* x,
                       const float* __restrict__ weight, const float* __restrict__ mean,
                       const float* __restrict__ rstd, int64_t N, int64_t C) {
  __shared__ double shd[32];
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const float* xi = x + i * C;
    const float* gi = dout + i * C;
    float* dxi = dx + i * C;
    const float m = mean ? mean[i] : 0.0f, r = rstd[i];
    double a = 0.0, b = 0.0;
    for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
      const float norm = (xi[j] - m) * r, dn = gi[j] * weight[j];
      a += (double)dn;
      b += (double)dn * (double)norm;
    }
    a = lmt::cuda::block_sum(a, shd);
    b = lmt::cuda::block_sum(b, shd);
    const float mdn = mean ? (float)(a / (double)C) : 0.0f, mdnn = (float)(b / (double)C);
    for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
      const float norm = (xi[j] - m) * r, dn = gi[j] * weight[j];
      dxi[j] = r * (dn - mdn - norm * mdnn);
    }
  }
}

// part_w[chunk][j] = sum over the chunk's rows of dout * norm; part_b (may be null) of dout.
// grid (ceil(C / kColThreads), chunks); no block-level sync, so idle threads may return.
__global__ void __launch_bounds__(kColThreads)
    norm_bwd_param_kernel(double* __restrict__ part_w, double* __restrict__ part_b,
                          const float* __restrict__ dout, const float* __restrict__ x,
                          const float* __restrict__ mean, const float* __restrict__ rstd,
                          int64_t N, int64_t C, int64_t rows_per_chunk) {
  const int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= C) return;
  const int64_t i0 = (int64_t)blockIdx.y * rows_per_chunk;
  const int64_t i1 = i0 + rows_per_chunk < N ? i0 + rows_per_chunk : N;
  double dw = 0.0, db = 0.0;
  for (int64_t i = i0; i < i1; ++i) {
    const float g = dout[i * C + j];
    const float norm = (x[i * C + j] - (mean ? mean[i] : 0.0f)) * rstd[i];
    dw += (double)(g * norm);
    db += (double)g;
  }
  part_w[(int64_t)blockIdx.y * C + j] = dw;
  if (part_b) part_b[(int64_t)blockIdx.y * C + j] = db;
}

// out[j] = sum over chunks of part[chunk][j], in chunk order.
__global__ void sum_chunks_kernel(float* __restrict__ out, const double* __restrict__ part,
                                  int64_t chunks, int64_t C) {
  LMT_GRID_LOOP(j, C) {
    double s = 0.0;
    for (int64_t k = 0; k < chunks; ++k) s += part[k * C + j];
    out[j] = (float)s;
  }
}

// Shared by both backward kernels: dweight (and dbias) via the chunk sums, then dx per row.
lmt_status norm_backward(const char* fn, float* dx, float* dweight, float* dbias,
                         const float* dout, const float* x, const float* weight,
                         const float* mean, const float* rstd, int64_t N, int64_t C) {
  cudaStream_t st = lmt::cuda::stream();
  const int64_t rows = chunk_rows(N), chunks = (N + rows - 1) / rows;
  const size_t part_bytes = (size_t)(chunks * C) * sizeof(double);
  double* part = nullptr;
  if (lmt_status s = lmt_cuda_malloc((void**)&part, part_bytes * (dbias ? 2 : 1))) return s;
  double* part_w = part;
  double* part_b = dbias ? part + chunks * C : nullptr;
  dim3 grid((unsigned)((C + kColThreads - 1) / kColThreads), (unsigned)chunks);
  norm_bwd_param_kernel<<<grid, kColThreads, 0, st>>>(part_w, part_b, dout, x, mean, rstd, N, C, rows);
  const unsigned rblocks = lmt::cuda::blocks_for(C, 256);
  sum_chunks_kernel<<<rblocks, 256, 0, st>>>(dweight, part_w, chunks, C);
  if (dbias) sum_chunks_kernel<<<rblocks, 256, 0, st>>>(dbias, part_b, chunks, C);
  // dx last: the CPU kernel tolerates dx aliasing dout or x, so read them for the parameter
  // gradients before dx is written.
  norm_bwd_dx_kernel<<<LMT_ROWS(N, C)>>>(dx, dout, x, weight, mean, rstd, N, C);
  lmt_status s = lmt::cuda::launched(fn);
  // Stream-ordered cache: the block is handed out only to work queued after these kernels.
  lmt_cuda_free(part, part_bytes * (dbias ? 2 : 1));
  return s;
}

}  // namespace

extern "C" lmt_status lmt_cuda_layernorm_forward(float* out, float* mean, float* rstd,
                                                 const float* x, const float* weight,
                                                 const float* bias, int64_t N, int64_t C,
                                                 float eps) {
  LMT_CHECK(lmt::check_layernorm_forward(__func__, out, mean, rstd, x, weight, N, C, eps));
  if (N == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  norm_fwd_kernel<<<LMT_ROWS(N, C)>>>(out, mean, rstd, x, weight, bias, N, C, eps);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_layernorm_backward(float* dx, float* dweight, float* dbias,
                                                  const float* dout, const float* x,
                                                  const float* weight, const float* mean,
                                                  const float* rstd, int64_t N, int64_t C) {
  LMT_CHECK(
      lmt::check_layernorm_backward(__func__, dx, dweight, dout, x, weight, mean, rstd, N, C));
  if (C == 0) return LMT_OK;
  if (N == 0) {  // no rows: the parameter gradients are zero
    LMT_CHECK(lmt::cuda::zero(__func__, dweight, C));
    if (dbias) return lmt::cuda::zero(__func__, dbias, C);
    return LMT_OK;
  }
  LMT_GUARD_BEGIN
  return norm_backward(__func__, dx, dweight, dbias, dout, x, weight, mean, rstd, N, C);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_rmsnorm_forward(float* out, float* rstd, const float* x,
                                               const float* weight, int64_t N, int64_t C,
                                               float eps) {
  LMT_CHECK(lmt::check_rmsnorm_forward(__func__, out, rstd, x, weight, N, C, eps));
  if (N == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  norm_fwd_kernel<<<LMT_ROWS(N, C)>>>(out, nullptr, rstd, x, weight, nullptr, N, C, eps);
  return lmt::cuda::launched(__func__);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_rmsnorm_backward(float* dx, float* dweight, const float* dout,
                                                const float* x, const float* weight,
                                                const float* rstd, int64_t N, int64_t C) {
  LMT_CHECK(lmt::check_rmsnorm_backward(__func__, dx, dweight, dout, x, weight, rstd, N, C));
  if (C == 0) return LMT_OK;
  if (N == 0) return lmt::cuda::zero(__func__, dweight, C);
  LMT_GUARD_BEGIN
  return norm_backward(__func__, dx, dweight, nullptr, dout, x, weight, nullptr, rstd, N, C);
  LMT_GUARD_END
}
