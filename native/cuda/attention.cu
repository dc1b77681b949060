// Fused scaled dot-product attention on the GPU, lmt_attention_forward/backward's contract
// (see native/cpu/attention.cpp for the maths): causal with Tk - Tq offset, additive bias
// (bias_B in {1, B}), additive key mask, lse saved, fully hidden queries give 0 / -inf and
// zero gradients.
//
// fp32 throughout, one thread per query (forward, dq) or per key (dk, dv), with the head
// vectors it owns in registers (a compile-time D >= HS, zero-padded) and the other side's
// vectors staged tile by tile in shared memory, where every thread of a warp reads the same
// element (a broadcast). The forward is a single pass with an online softmax that rescales
// the accumulator only when the running max grows. Backward is three kernels:
//   D_i = dout_i . out_i;  dq (+ dbias) per query;  dk and dv per key (P recomputed from lse).
// Head sizes up to 256 are supported.
//
// When the matmul precision is BF16 (lmt_cuda_set_matmul_precision) on compute capability
// 8.0+ and the head size is at most 128, the entry points below run the tensor-core kernels
// of attention_mma.cu instead (the same contract, bf16 products with fp32 accumulation).
#include "attention.cuh"

namespace {

constexpr int QT = 64;  // threads (queries or keys) per block

using namespace lmt::cuda::attn;

template <int D>
__host__ __device__ constexpr int tile_keys() { return D <= 128 ? 32 : 16; }

// Stages rows [r0, r0+n) of a (T, HS) matrix into sm[KT][D], zero-padded.
template <int D, int KT>
__device__ __forceinline__ void stage(float (*sm)[D], const float* x, int64_t r0, int64_t n, int64_t HS) {
  for (int e = threadIdx.x; e < KT * D; e += blockDim.x) {
    int r = e / D, d = e % D;
    sm[r][d] = (r < n && d < HS) ? x[(r0 + r) * HS + d] : 0.f;
  }
}

// Where a thread works: head (b, h) and its row (a query, or a key for dk/dv) in a block of
// QT rows along an axis of T rows; ri is the row's index in the (B, NH, T) layout.
struct Place {
  int64_t bh, b, h, blk, row, ri;
  bool valid;
};
__device__ __forceinline__ Place place(const AttnArgs& A, int64_t T) {
  Place P;
  const int64_t nb = (T + QT - 1) / QT;
  P.bh = blockIdx.x / nb;
  P.blk = blockIdx.x % nb;
  P.b = P.bh / A.NH;
  P.h = P.bh % A.NH;
  P.row = P.blk * QT + threadIdx.x;
  P.valid = P.row < T;
  P.ri = P.bh * T + (P.valid ? P.row : 0);
  return P;
}

// Walks, tile by tile, the keys that some query of this block sees (K and V tiles staged in
// shared memory by the whole block), calling f(jj, j) for each key j that the thread's own
// query sees, in key order: tile slot jj holds key j.
template <int D, int KT, class F>
__device__ __forceinline__ void for_visible_keys(const AttnArgs& A, const Place& P, float (*Ks)[D],
                                                 float (*Vs)[D], F&& f) {
  const int64_t off = A.Tk - A.Tq;
  const int64_t last_q = min(A.Tq, (P.blk + 1) * QT) - 1;
  const int64_t jend = A.causal ? min(A.Tk, last_q + off + 1) : A.Tk;
  const float* kp = A.k + P.bh * A.Tk * A.HS;
  const float* vp = A.v + P.bh * A.Tk * A.HS;
  for (int64_t j0 = 0; j0 < jend; j0 += KT) {
    const int64_t n = min((int64_t)KT, jend - j0);
    __syncthreads();
    stage<D, KT>(Ks, kp, j0, n, A.HS);
    stage<D, KT>(Vs, vp, j0, n, A.HS);
    __syncthreads();
    if (!P.valid) continue;
    for (int jj = 0; jj < n; ++jj) {
      const int64_t j = j0 + jj;
      if (A.causal && j > P.row + off) break;
      f(jj, j);
    }
  }
}

template <int D>
__global__ void __launch_bounds__(QT) attn_fwd(AttnArgs A) {
  constexpr int KT = tile_keys<D>();
  __shared__ float Ks[KT][D];
  __shared__ float Vs[KT][D];
  const Place P = place(A, A.Tq);
  float q[D], acc[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    q[d] = (P.valid && d < A.HS) ? A.q[P.ri * A.HS + d] : 0.f;
    acc[d] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  for_visible_keys<D, KT>(A, P, Ks, Vs, [&](int jj, int64_t j) {
    float dot = 0.f;
#pragma unroll
    for (int d = 0; d < D; ++d) dot = fmaf(q[d], Ks[jj][d], dot);
    const float s = finish_score(A, dot, P.b, P.h, P.row, j);
    if (s == -INFINITY) return;
    if (s > m) {
      const float corr = expf(m - s);  // m = -inf gives 0
      l *= corr;
#pragma unroll
      for (int d = 0; d < D; ++d) acc[d] *= corr;
      m = s;
    }
    const float p = expf(s - m);
    l += p;
#pragma unroll
    for (int d = 0; d < D; ++d) acc[d] = fmaf(p, Vs[jj][d], acc[d]);
  });
  if (!P.valid) return;
  float* op = A.out + P.ri * A.HS;
  // A NaN score leaves l NaN: it propagates to out and lse as on the CPU.
  const bool none = !(l > 0.f) && !(l != l);
  const float inv = none ? 0.f : 1.f / l;
  for (int d = 0; d < A.HS && d < D; ++d) op[d] = none ? 0.f : acc[d] * inv;
  A.lse[P.ri] = none ? -INFINITY : m + logf(l);
}

// D_i = dout_i . out_i (double accumulation: it is subtracted from dP).
__global__ void attn_rowdot(AttnArgs A) {
  int64_t rows = A.B * A.NH * A.Tq;
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    const float* g = A.dout + r * A.HS;
    const float* o = A.o + r * A.HS;
    double s = 0;
    for (int64_t d = 0; d < A.HS; ++d) s += (double)g[d] * o[d];
    A.Dbuf[r] = (float)s;
  }
}

// dq_i and dbias_i, one thread per query; K and V tiles in shared memory.
template <int D>
__global__ void __launch_bounds__(QT) attn_bwd_dq(AttnArgs A) {
  constexpr int KT = tile_keys<D>();
  __shared__ float Ks[KT][D];
  __shared__ float Vs[KT][D];
  const Place P = place(A, A.Tq);
  float q[D], g[D], dq[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    const bool in = P.valid && d < A.HS;
    q[d] = in ? A.q[P.ri * A.HS + d] : 0.f;
    g[d] = in ? A.dout[P.ri * A.HS + d] : 0.f;
    dq[d] = 0.f;
  }
  const float lse = P.valid ? A.lse_in[P.ri] : -INFINITY;
  const float Di = P.valid ? A.Dbuf[P.ri] : 0.f;
  float* dbias = A.dbias ? A.dbias + (((A.bias_B == 1 ? 0 : P.b) * A.NH + P.h) * A.Tq) * A.Tk : nullptr;
  const bool shared_bias = A.bias_B == 1 && A.B > 1;
  for_visible_keys<D, KT>(A, P, Ks, Vs, [&](int jj, int64_t j) {
    float dot = 0.f, dp = 0.f;
#pragma unroll
    for (int d = 0; d < D; ++d) {
      dot = fmaf(q[d], Ks[jj][d], dot);
      dp = fmaf(g[d], Vs[jj][d], dp);
    }
    const float p = prob(finish_score(A, dot, P.b, P.h, P.row, j), lse);
    const float ds = p * (dp - Di);
    if (dbias) {
      float* dst = dbias + P.row * A.Tk + j;
      if (shared_bias) atomicAdd(dst, ds);
      else *dst = ds;
    }
    const float w = ds * A.scale;
#pragma unroll
    for (int d = 0; d < D; ++d) dq[d] = fmaf(w, Ks[jj][d], dq[d]);
  });
  if (!P.valid) return;
  for (int d = 0; d < A.HS && d < D; ++d) A.dq[P.ri * A.HS + d] = dq[d];
}

// dk_j and dv_j per key thread; Q, dout, lse and D tiles in shared memory.
template <int D>
__global__ void __launch_bounds__(QT) attn_bwd_dkdv(AttnArgs A) {
  constexpr int KT = tile_keys<D>();
  __shared__ float Qs[KT][D];
  __shared__ float Gs[KT][D];
  __shared__ float Ls[KT], Ds[KT];
  const Place P = place(A, A.Tk);
  const int64_t bh = P.bh, b = P.b, h = P.h, kb = P.blk, j = P.row, rj = P.ri;
  const bool valid = P.valid;
  const int64_t off = A.Tk - A.Tq;
  float k[D], v[D], dk[D], dv[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    bool in = valid && d < A.HS;
    k[d] = in ? A.k[rj * A.HS + d] : 0.f;
    v[d] = in ? A.v[rj * A.HS + d] : 0.f;
    dk[d] = 0.f;
    dv[d] = 0.f;
  }
  const float* qp = A.q + bh * A.Tq * A.HS;
  const float* gp = A.dout + bh * A.Tq * A.HS;
  // Under causality the first query that sees key j is j - off.
  int64_t first_k = kb * QT;
  int64_t istart = A.causal ? max((int64_t)0, first_k - off) : 0;
  for (int64_t i0 = istart; i0 < A.Tq; i0 += KT) {
    int64_t n = min((int64_t)KT, A.Tq - i0);
    __syncthreads();
    stage<D, KT>(Qs, qp, i0, n, A.HS);
    stage<D, KT>(Gs, gp, i0, n, A.HS);
    for (int e = threadIdx.x; e < KT; e += blockDim.x) {
      Ls[e] = e < n ? A.lse_in[bh * A.Tq + i0 + e] : -INFINITY;
      Ds[e] = e < n ? A.Dbuf[bh * A.Tq + i0 + e] : 0.f;
    }
    __syncthreads();
    if (!valid) continue;
    for (int ii = 0; ii < n; ++ii) {
      int64_t i = i0 + ii;
      if (A.causal && j > i + off) continue;
      float dot = 0.f, dp = 0.f;
#pragma unroll
      for (int d = 0; d < D; ++d) {
        dot = fmaf(Qs[ii][d], k[d], dot);
        dp = fmaf(Gs[ii][d], v[d], dp);
      }
      float p = prob(finish_score(A, dot, b, h, i, j), Ls[ii]);
      float w = p * (dp - Ds[ii]) * A.scale;
#pragma unroll
      for (int d = 0; d < D; ++d) {
        dv[d] = fmaf(p, Gs[ii][d], dv[d]);
        dk[d] = fmaf(w, Qs[ii][d], dk[d]);
      }
    }
  }
  if (!valid) return;
  for (int d = 0; d < A.HS && d < D; ++d) {
    A.dk[rj * A.HS + d] = dk[d];
    A.dv[rj * A.HS + d] = dv[d];
  }
}

// Beyond the shared checks: the head sizes the kernels were compiled for.
lmt_status check_head_size(const char* fn, int64_t HS) {
  if (HS > 256)
    return lmt_fail(LMT_ERR_INVALID_ARG, "%s: the CUDA attention kernels support head sizes up to 256, got %lld",
                    fn, (long long)HS);
  return LMT_OK;
}

// Launches the kernel compiled for the smallest D >= HS.
#define LMT_ATTN_DISPATCH(KERNEL, HS, GRID, ARGS)                                                       \
  do {                                                                                                 \
    cudaStream_t st_ = lmt::cuda::stream();                                                            \
    if ((HS) <= 32) KERNEL<32><<<(GRID), QT, 0, st_>>>(ARGS);                                          \
    else if ((HS) <= 64) KERNEL<64><<<(GRID), QT, 0, st_>>>(ARGS);                                     \
    else if ((HS) <= 128) KERNEL<128><<<(GRID), QT, 0, st_>>>(ARGS);                                   \
    else KERNEL<256><<<(GRID), QT, 0, st_>>>(ARGS);                                                    \
  } while (0)

__global__ void fill_kernel(float* p, float v, int64_t n) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
    p[e] = v;
}
lmt_status fill(float* p, float v, int64_t n, const char* fn) {
  if (n <= 0) return LMT_OK;
  fill_kernel<<<lmt::cuda::blocks_for(n, 256), 256, 0, lmt::cuda::stream()>>>(p, v, n);
  return lmt::cuda::launched(fn);
}

}  // namespace

extern "C" lmt_status lmt_cuda_attention_forward(float* out, float* lse, const float* q, const float* k,
                                                 const float* v, const float* bias, const float* key_mask,
                                                 int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                                                 int64_t bias_B, int causal, float scale) {
  LMT_CHECK(lmt::check_attention_forward(__func__, out, lse, q, k, v, bias, B, NH, Tq, Tk, HS, bias_B, causal));
  LMT_CHECK(check_head_size(__func__, HS));
  if (B == 0 || NH == 0 || Tq == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  if (Tk == 0) {  // nothing to see: out 0, lse -inf
    if (lmt_status s = fill(out, 0.f, B * NH * Tq * HS, __func__)) return s;
    return fill(lse, -INFINITY, B * NH * Tq, __func__);
  }
  // HS == 0 runs the D = 32 kernel: scores are bias + mask alone (q and k are never read),
  // which lse still needs; out has no elements.
  AttnArgs A{out, lse, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, q, k, v, nullptr, nullptr,
             bias, key_mask, B, NH, Tq, Tk, HS, bias_B, causal, scale};
  int64_t grid = B * NH * ((Tq + QT - 1) / QT);
  LMT_ARG(grid < ((int64_t)1 << 31), "%s: too many (batch, head, query block) tasks", __func__);
  if (lmt_cuda_get_matmul_precision() == LMT_PREC_BF16 && mma_usable(HS, false)) return forward_mma(A, __func__);
  LMT_ATTN_DISPATCH(attn_fwd, HS, (unsigned)grid, A);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_attention_backward(float* dq, float* dk, float* dv, float* dbias, const float* dout,
                                                  const float* q, const float* k, const float* v, const float* out,
                                                  const float* lse, const float* bias, const float* key_mask,
                                                  int64_t B, int64_t NH, int64_t Tq, int64_t Tk, int64_t HS,
                                                  int64_t bias_B, int causal, float scale) {
  LMT_CHECK(lmt::check_attention_backward(__func__, dq, dk, dv, dbias, dout, q, k, v, out, lse, bias, B, NH, Tq,
                                          Tk, HS, bias_B, causal));
  LMT_CHECK(check_head_size(__func__, HS));
  if (B == 0 || NH == 0 || (Tq == 0 && Tk == 0)) return LMT_OK;
  LMT_GUARD_BEGIN
  const char* fn = __func__;
  if (dbias) {
    if (lmt_status s = fill(dbias, 0.f, (bias_B == 1 ? 1 : B) * NH * Tq * Tk, fn)) return s;
  }
  if (Tq == 0 || Tk == 0) {
    if (lmt_status s = fill(dq, 0.f, B * NH * Tq * HS, fn)) return s;
    if (lmt_status s = fill(dk, 0.f, B * NH * Tk * HS, fn)) return s;
    return fill(dv, 0.f, B * NH * Tk * HS, fn);
  }
  // HS == 0: no q/k/v gradient elements, and dP = D_i = 0 makes dS (dbias) zero: done above.
  if (HS == 0) return LMT_OK;
  float* Dbuf = nullptr;
  size_t dbytes = (size_t)(B * NH * Tq) * sizeof(float);
  if (lmt_status s = lmt_cuda_malloc((void**)&Dbuf, dbytes)) return s;
  AttnArgs A{nullptr, nullptr, dq, dk, dv, dbias, Dbuf, dout, q, k, v, out, lse,
             bias, key_mask, B, NH, Tq, Tk, HS, bias_B, causal, scale};
  int64_t rows = B * NH * Tq;
  attn_rowdot<<<lmt::cuda::blocks_for(rows, 128), 128, 0, lmt::cuda::stream()>>>(A);
  lmt_status st = lmt::cuda::launched(fn);
  int64_t gq = B * NH * ((Tq + QT - 1) / QT), gk = B * NH * ((Tk + QT - 1) / QT);
  if (st == LMT_OK && (gq >= ((int64_t)1 << 31) || gk >= ((int64_t)1 << 31)))
    st = lmt_fail(LMT_ERR_INVALID_ARG, "%s: too many (batch, head, block) tasks", fn);
  const bool mma = lmt_cuda_get_matmul_precision() == LMT_PREC_BF16 && mma_usable(HS, true);
  if (st == LMT_OK && mma) {
    st = backward_mma(A, fn);
  } else if (st == LMT_OK) {
    LMT_ATTN_DISPATCH(attn_bwd_dq, HS, (unsigned)gq, A);
    st = lmt::cuda::launched(fn);
  }
  if (st == LMT_OK && !mma) {
    LMT_ATTN_DISPATCH(attn_bwd_dkdv, HS, (unsigned)gk, A);
    st = lmt::cuda::launched(fn);
  }
  lmt_cuda_free(Dbuf, dbytes);
  return st;
  LMT_GUARD_END
}
