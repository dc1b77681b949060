// Fused attention on tensor cores (sm_80+): the flash-attention scheme with bf16 mma.sync
// m16n8k16 products and fp32 accumulation, softmax statistics and outputs. attention.cu runs
// these kernels, under the same contract, when the matmul precision is BF16 and the head size
// is at most 128 (attn::mma_usable).
//
// q, k, v (and dout) are first converted to bf16 with the head dimension zero-padded to the
// kernel's D (32, 64 or 128), so every tile is a run of 16-byte cp.async copies, zero-filled
// past the last row. A block is 4 warps; each warp owns 16 rows (queries, or keys in dk/dv) of
// the block's 64 and walks the other side in tiles of 64, double-buffered in shared memory:
//  - forward: S = Q K^T, an online softmax in registers (row statistics reduced over the 4
//    lanes that share a row), O += P V with P rounded to bf16 straight from the accumulator
//    fragments (an m16n8 accumulator pair has the layout of an m16k16 A operand);
//  - backward, two kernels, so that no gradient needs atomics: per query block, S and
//    dP = dO V^T, dS = P (dP - D) and dQ += dS K (dbias = dS is written here); per key block,
//    S^T and dP^T, dV += P^T dO and dK += dS^T Q. P comes from the saved lse, D = dO . O from
//    attention.cu's rowdot kernel.
// Every warp executes every tile, so a warp-level operation is never skipped by part of the
// block (masking is per element); rows past the end are computed and discarded. So a hidden
// (masked or causally later) key still enters the products with weight 0, and an Inf or NaN
// in its k or v (or in dout of a query that cannot see it) makes the result NaN: as in the
// CPU kernel, whose tile products do the same; the SIMT kernels skip such pairs.
#include "attention.cuh"
#include "mma.cuh"

namespace lmt {
namespace cuda {
namespace attn {
namespace {

using bf16 = __nv_bfloat16;
constexpr int ROWS = 64;    // rows of a block: 4 warps of 16
constexpr int TILE = 64;    // rows of a tile of the other side
constexpr int THREADS = 128;

// Each exponential is one ex2 instruction (fast_exp2, mma.cuh) on log2(e) (x - m) instead of
// expf's range reduction around it. The scores stay in natural units rather than being scaled
// by log2(e) up front as in FlashAttention-2: a finite score below -FLT_MAX / log2(e) (a bias
// of -FLT_MAX, the usual "masked" value) would become -inf there and the row would differ from
// the CPU's; the difference x - m is always in range.
constexpr float LOG2E = 1.4426950408889634f;

__device__ __forceinline__ float exp_diff(float x, float m) { return fast_exp2((x - m) * LOG2E); }

// attn::prob on ex2.
__device__ __forceinline__ float prob_fast(float s, float lse) {
  return (lse == -INFINITY || s == -INFINITY) ? 0.f : exp_diff(s, lse);
}

// Shared-memory tile of 64 rows of D bf16: rows padded by 16 bytes so that the 8 row
// addresses of an ldmatrix fall in different banks.
template <int D>
struct Lay {
  static constexpr int ld = D + 8;
  static constexpr int elems = TILE * ld;
};

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
  return (unsigned)__bfloat16_as_ushort(__float2bfloat16_rn(lo)) |
         ((unsigned)__bfloat16_as_ushort(__float2bfloat16_rn(hi)) << 16);
}

// dst (rows, D) bf16 from src (rows, HS) fp32, columns HS..D-1 zero.
__global__ void to_bf16_padded(unsigned* dst, const float* src, int64_t rows, int64_t HS, int D) {
  const int half = D / 2;
  LMT_GRID_LOOP(e, rows * half) {
    const int64_t r = e / half;
    const int64_t d = (e % half) * 2;
    const float* s = src + r * HS;
    dst[e] = pack_bf16(d < HS ? s[d] : 0.f, d + 1 < HS ? s[d + 1] : 0.f);
  }
}

// Rows [r0, r0 + 64) of a (T, D) bf16 matrix into a tile; rows at or past T are zeros.
template <int D>
__device__ __forceinline__ void load_tile(bf16* sm, const bf16* g, int64_t r0, int64_t T) {
  constexpr int CH = D / 8;  // 16-byte chunks per row
#pragma unroll
  for (int c = threadIdx.x; c < TILE * CH; c += THREADS) {
    const int r = c / CH, ch = c % CH;
    const bool valid = r0 + r < T;
    cp_async16(sm + r * Lay<D>::ld + ch * 8, valid ? g + (r0 + r) * D + ch * 8 : g, valid);
  }
}

// acc (16 x 64) += A (16 rows of sa) . B (64 rows of sb)^T over D: both operands have D
// contiguous, which is what a row.col mma reads without transposing.
template <int D>
__device__ __forceinline__ void mma_abt(float (&acc)[8][4], const bf16* sa, const bf16* sb) {
  const int lane = threadIdx.x & 31, mi = lane >> 3, r8 = lane & 7;
  constexpr int ld = Lay<D>::ld;
#pragma unroll
  for (int kk = 0; kk < D; kk += 16) {
    unsigned a[4];
    // matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
    ldsm_x4(a, sa + ((mi & 1) * 8 + r8) * ld + kk + (mi >> 1) * 8);
#pragma unroll
    for (int p = 0; p < 4; ++p) {
      unsigned b[4];
      // matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
      ldsm_x4(b, sb + (p * 16 + (mi >> 1) * 8 + r8) * ld + kk + (mi & 1) * 8);
      mma_bf16(acc[2 * p], a, b[0], b[1]);
      mma_bf16(acc[2 * p + 1], a, b[2], b[3]);
    }
  }
}

// The A fragments (16 x 64, four k-steps of 16) of a 16 x 64 accumulator, rounded to bf16:
// n-tiles 2k and 2k+1 hold columns 16k..16k+15 in exactly the m16k16 A layout.
__device__ __forceinline__ void to_a_frags(unsigned (&a)[4][4], const float (&c)[8][4]) {
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    a[k][0] = pack_bf16(c[2 * k][0], c[2 * k][1]);
    a[k][1] = pack_bf16(c[2 * k][2], c[2 * k][3]);
    a[k][2] = pack_bf16(c[2 * k + 1][0], c[2 * k + 1][1]);
    a[k][3] = pack_bf16(c[2 * k + 1][2], c[2 * k + 1][3]);
  }
}

// acc (16 x D) += P (16 x 64, A fragments) . B (64 rows of sb, D wide): B's contiguous
// dimension is the output's, so its fragments are loaded transposed.
template <int D>
__device__ __forceinline__ void mma_pb(float (&acc)[D / 8][4], const unsigned (&a)[4][4], const bf16* sb) {
  const int lane = threadIdx.x & 31, mi = lane >> 3, r8 = lane & 7;
  constexpr int ld = Lay<D>::ld;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      unsigned b[4];
      // matrices: (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
      ldsm_x4_t(b, sb + (k * 16 + (mi & 1) * 8 + r8) * ld + dp * 16 + (mi >> 1) * 8);
      mma_bf16(acc[2 * dp], a[k], b[0], b[1]);
      mma_bf16(acc[2 * dp + 1], a[k], b[2], b[3]);
    }
  }
}

// Where a block works: head bh = (b, h) and its first row r0 along an axis of T rows.
struct Blk {
  int64_t bh, b, h, r0;
};
__device__ __forceinline__ Blk block_place(const AttnArgs& A, int64_t T) {
  const int64_t nb = (T + ROWS - 1) / ROWS;
  Blk k;
  k.bh = blockIdx.x / nb;
  k.b = k.bh / A.NH;
  k.h = k.bh % A.NH;
  k.r0 = (blockIdx.x % nb) * ROWS;
  return k;
}

// Keys [0, jend) that some query of the block starting at q0 sees.
__device__ __forceinline__ int64_t key_end(const AttnArgs& A, int64_t q0) {
  if (!A.causal) return A.Tk;
  const int64_t last_q = min(A.Tq, q0 + ROWS) - 1;
  return max((int64_t)0, min(A.Tk, last_q + (A.Tk - A.Tq) + 1));
}

__device__ __forceinline__ bool visible(const AttnArgs& A, int64_t i, int64_t j) {
  return i < A.Tq && j < A.Tk && !(A.causal && j > i + (A.Tk - A.Tq));
}

// Whether every (query, key) pair of the queries [i0, i0 + 64) and keys [j0, j0 + 64) is
// visible with a score of scale * dot alone: the per-element checks are then skipped (all but
// the diagonal tiles of causal attention without bias or mask). Uniform over the block.
__device__ __forceinline__ bool plain_tile(const AttnArgs& A, int64_t i0, int64_t j0) {
  return !A.bias && !A.key_mask && i0 + ROWS <= A.Tq && j0 + TILE <= A.Tk &&
         (!A.causal || j0 + TILE - 1 <= i0 + (A.Tk - A.Tq));
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

template <int N>
__device__ __forceinline__ void zero(float (&c)[N][4]) {
#pragma unroll
  for (int n = 0; n < N; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) c[n][e] = 0.f;
}

// Writes a warp's 16 x D accumulator to rows row[0] (lane / 4) and row[1] (+ 8) of a
// (T, HS) matrix, each row times mul[h]; rows at or past T and columns at or past HS are
// not written.
template <int D>
__device__ __forceinline__ void store_rows(float* x, int64_t T, int64_t HS, const int64_t (&row)[2],
                                           const float (&acc)[D / 8][4], const float (&mul)[2]) {
  const int t = threadIdx.x & 3;
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    if (row[hh] >= T) continue;
    float* dst = x + row[hh] * HS;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int64_t d = n * 8 + 2 * t + e;
        if (d < HS) dst[d] = acc[n][hh * 2 + e] * mul[hh];
      }
  }
}

// Walks the key tiles [0, ntiles) of head bh, double-buffered in Ks and Vs (two tiles each):
// the first tile's loads join the cp.async group of the caller's own loads (committed here),
// and body(j0, K tile, V tile) runs for each tile with both resident.
template <int D, class F>
__device__ __forceinline__ void for_key_tiles(const AttnArgs& A, int64_t bh, int64_t ntiles, const bf16* kb,
                                              const bf16* vb, bf16* Ks, bf16* Vs, F&& body) {
  const bf16* kp = kb + bh * A.Tk * D;
  const bf16* vp = vb + bh * A.Tk * D;
  if (ntiles > 0) {
    load_tile<D>(Ks, kp, 0, A.Tk);
    load_tile<D>(Vs, vp, 0, A.Tk);
  }
  cp_commit();
  for (int64_t jt = 0; jt < ntiles; ++jt) {
    const int buf = (int)(jt & 1);
    if (jt + 1 < ntiles) {
      load_tile<D>(Ks + (buf ^ 1) * Lay<D>::elems, kp, (jt + 1) * TILE, A.Tk);
      load_tile<D>(Vs + (buf ^ 1) * Lay<D>::elems, vp, (jt + 1) * TILE, A.Tk);
    }
    cp_commit();
    cp_wait<1>();
    __syncthreads();
    body(jt * TILE, Ks + buf * Lay<D>::elems, Vs + buf * Lay<D>::elems);
    __syncthreads();  // the next tile's prefetch overwrites the other buffer
  }
  cp_wait<0>();
}

// Accumulator element e of n-tile n sits at row g + 8 (e / 2), column 8 n + 2 t + e % 2.
template <int D>
__global__ void __launch_bounds__(THREADS) fwd_kernel(AttnArgs A, const bf16* qb, const bf16* kb, const bf16* vb) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* Qs = reinterpret_cast<bf16*>(smem_raw);
  bf16* Ks = Qs + Lay<D>::elems;  // two buffers each
  bf16* Vs = Ks + 2 * Lay<D>::elems;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const Blk P = block_place(A, A.Tq);
  const int64_t ntiles = (key_end(A, P.r0) + TILE - 1) / TILE;
  load_tile<D>(Qs, qb + P.bh * A.Tq * D, P.r0, A.Tq);

  const int64_t row[2] = {P.r0 + warp * 16 + g, P.r0 + warp * 16 + g + 8};
  float o[D / 8][4];
  zero(o);
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for_key_tiles<D>(A, P.bh, ntiles, kb, vb, Ks, Vs, [&](int64_t j0, const bf16* kt, const bf16* vt) {
    float s[8][4];
    zero(s);
    mma_abt<D>(s, Qs + warp * 16 * Lay<D>::ld, kt);
    const bool plain = plain_tile(A, P.r0, j0);
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t i = row[e >> 1], j = j0 + n * 8 + 2 * t + (e & 1);
        float x;
        if (plain) x = s[n][e] * A.scale;
        else x = visible(A, i, j) ? finish_score(A, s[n][e], P.b, P.h, i, j) : -INFINITY;
        s[n][e] = x;
        mx[e >> 1] = fmaxf(mx[e >> 1], x);
      }
    float corr[2];
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const float mn = fmaxf(m[hh], quad_max(mx[hh]));
      corr[hh] = mn == -INFINITY ? 1.f : exp_diff(m[hh], mn);  // m = -inf gives 0
      m[hh] = mn;
      l[hh] *= corr[hh];
    }
    // A NaN score makes p, and so l, out and lse, NaN, as on the CPU (fmaxf skips it).
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = s[n][e] == -INFINITY ? 0.f : exp_diff(s[n][e], m[e >> 1]);
        s[n][e] = p;
        l[e >> 1] += p;
      }
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[n][e] *= corr[e >> 1];
    unsigned pa[4][4];
    to_a_frags(pa, s);
    mma_pb<D>(o, pa, vt);
  });

  float inv[2];
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const float L = quad_sum(l[hh]);
    // A query that sees no key: out 0 (its accumulator is 0: every p was 0), lse -inf.
    const bool none = !(L > 0.f) && !(L != L);
    inv[hh] = none ? 0.f : 1.f / L;
    if (t == 0 && row[hh] < A.Tq) A.lse[P.bh * A.Tq + row[hh]] = none ? -INFINITY : m[hh] + logf(L);
  }
  store_rows<D>(A.out + P.bh * A.Tq * A.HS, A.Tq, A.HS, row, o, inv);
}

// dQ and dbias per query block.
template <int D>
__global__ void __launch_bounds__(THREADS) dq_kernel(AttnArgs A, const bf16* qb, const bf16* kb, const bf16* vb,
                                                     const bf16* gb) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* Qs = reinterpret_cast<bf16*>(smem_raw);
  bf16* Gs = Qs + Lay<D>::elems;
  bf16* Ks = Gs + Lay<D>::elems;  // two buffers each
  bf16* Vs = Ks + 2 * Lay<D>::elems;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const Blk P = block_place(A, A.Tq);
  const int64_t ntiles = (key_end(A, P.r0) + TILE - 1) / TILE;
  load_tile<D>(Qs, qb + P.bh * A.Tq * D, P.r0, A.Tq);
  load_tile<D>(Gs, gb + P.bh * A.Tq * D, P.r0, A.Tq);

  const int64_t row[2] = {P.r0 + warp * 16 + g, P.r0 + warp * 16 + g + 8};
  float lse[2], Di[2];
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const bool in = row[hh] < A.Tq;
    lse[hh] = in ? A.lse_in[P.bh * A.Tq + row[hh]] : -INFINITY;
    Di[hh] = in ? A.Dbuf[P.bh * A.Tq + row[hh]] : 0.f;
  }
  float* dbias = A.dbias ? A.dbias + (((A.bias_B == 1 ? 0 : P.b) * A.NH + P.h) * A.Tq) * A.Tk : nullptr;
  const bool shared_bias = A.bias_B == 1 && A.B > 1;
  float dq[D / 8][4];
  zero(dq);

  for_key_tiles<D>(A, P.bh, ntiles, kb, vb, Ks, Vs, [&](int64_t j0, const bf16* kt, const bf16* vt) {
    float s[8][4], dp[8][4];
    zero(s);
    zero(dp);
    mma_abt<D>(s, Qs + warp * 16 * Lay<D>::ld, kt);
    mma_abt<D>(dp, Gs + warp * 16 * Lay<D>::ld, vt);
    const bool plain = plain_tile(A, P.r0, j0) && !dbias;
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int hh = e >> 1;
        const int64_t i = row[hh], j = j0 + n * 8 + 2 * t + (e & 1);
        float ds = 0.f;
        if (plain) {
          ds = prob_fast(s[n][e] * A.scale, lse[hh]) * (dp[n][e] - Di[hh]);
        } else if (visible(A, i, j)) {
          ds = prob_fast(finish_score(A, s[n][e], P.b, P.h, i, j), lse[hh]) * (dp[n][e] - Di[hh]);
          if (dbias) {
            float* dst = dbias + i * A.Tk + j;
            if (shared_bias) atomicAdd(dst, ds);
            else *dst = ds;
          }
        }
        s[n][e] = ds;
      }
    unsigned a[4][4];
    to_a_frags(a, s);
    mma_pb<D>(dq, a, kt);
  });

  const float sc[2] = {A.scale, A.scale};
  store_rows<D>(A.dq + P.bh * A.Tq * A.HS, A.Tq, A.HS, row, dq, sc);
}

// dK and dV per key block: accumulator rows are keys, columns queries.
template <int D>
__global__ void __launch_bounds__(THREADS) dkdv_kernel(AttnArgs A, const bf16* qb, const bf16* kb, const bf16* vb,
                                                       const bf16* gb) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* Ks = reinterpret_cast<bf16*>(smem_raw);
  bf16* Vs = Ks + Lay<D>::elems;
  bf16* Qs = Vs + Lay<D>::elems;  // two buffers each
  bf16* Gs = Qs + 2 * Lay<D>::elems;
  float* Ls = reinterpret_cast<float*>(Gs + 2 * Lay<D>::elems);  // [2][TILE] lse, then [2][TILE] D
  float* Ds = Ls + 2 * TILE;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const Blk P = block_place(A, A.Tk);
  // Under causality the first query that sees key j is j - (Tk - Tq).
  const int64_t istart = A.causal ? max((int64_t)0, P.r0 - (A.Tk - A.Tq)) : 0;
  const int64_t ntiles = istart < A.Tq ? (A.Tq - istart + TILE - 1) / TILE : 0;
  const bf16* qp = qb + P.bh * A.Tq * D;
  const bf16* gp = gb + P.bh * A.Tq * D;
  auto load_q = [&](int buf, int64_t i0) {
    load_tile<D>(Qs + buf * Lay<D>::elems, qp, i0, A.Tq);
    load_tile<D>(Gs + buf * Lay<D>::elems, gp, i0, A.Tq);
    for (int e = threadIdx.x; e < TILE; e += THREADS) {
      const bool in = i0 + e < A.Tq;
      Ls[buf * TILE + e] = in ? A.lse_in[P.bh * A.Tq + i0 + e] : -INFINITY;
      Ds[buf * TILE + e] = in ? A.Dbuf[P.bh * A.Tq + i0 + e] : 0.f;
    }
  };
  load_tile<D>(Ks, kb + P.bh * A.Tk * D, P.r0, A.Tk);
  load_tile<D>(Vs, vb + P.bh * A.Tk * D, P.r0, A.Tk);
  if (ntiles > 0) load_q(0, istart);
  cp_commit();

  const int64_t key[2] = {P.r0 + warp * 16 + g, P.r0 + warp * 16 + g + 8};
  float dk[D / 8][4], dv[D / 8][4];
  zero(dk);
  zero(dv);

  for (int64_t it = 0; it < ntiles; ++it) {
    const int buf = (int)(it & 1);
    const int64_t i0 = istart + it * TILE;
    if (it + 1 < ntiles) load_q(buf ^ 1, i0 + TILE);
    cp_commit();
    cp_wait<1>();
    __syncthreads();
    const bf16* qt = Qs + buf * Lay<D>::elems;
    const bf16* gt = Gs + buf * Lay<D>::elems;
    const bool plain = plain_tile(A, i0, P.r0);
    float s[8][4], dp[8][4];
    zero(s);
    zero(dp);
    mma_abt<D>(s, Ks + warp * 16 * Lay<D>::ld, qt);
    mma_abt<D>(dp, Vs + warp * 16 * Lay<D>::ld, gt);
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = n * 8 + 2 * t + (e & 1);
        const int64_t j = key[e >> 1], i = i0 + c;
        float p = 0.f;
        if (plain) p = prob_fast(s[n][e] * A.scale, Ls[buf * TILE + c]);
        else if (visible(A, i, j)) p = prob_fast(finish_score(A, s[n][e], P.b, P.h, i, j), Ls[buf * TILE + c]);
        s[n][e] = p;
        dp[n][e] = p * (dp[n][e] - Ds[buf * TILE + c]);
      }
    unsigned a[4][4];
    to_a_frags(a, s);
    mma_pb<D>(dv, a, gt);
    to_a_frags(a, dp);
    mma_pb<D>(dk, a, qt);
    __syncthreads();
  }
  cp_wait<0>();

  const float sc[2] = {A.scale, A.scale}, one[2] = {1.f, 1.f};
  store_rows<D>(A.dk + P.bh * A.Tk * A.HS, A.Tk, A.HS, key, dk, sc);
  store_rows<D>(A.dv + P.bh * A.Tk * A.HS, A.Tk, A.HS, key, dv, one);
}

// Device scratch freed on every path out of a call.
struct Scratch {
  std::vector<std::pair<void*, size_t>> held;
  ~Scratch() {
    for (auto& h : held) lmt_cuda_free(h.first, h.second);
  }
  lmt_status get(bf16** p, size_t elems) {
    void* v = nullptr;
    if (lmt_status s = lmt_cuda_malloc(&v, elems * sizeof(bf16))) return s;
    held.emplace_back(v, elems * sizeof(bf16));
    *p = static_cast<bf16*>(v);
    return LMT_OK;
  }
};

// x (rows, HS) fp32 as a padded bf16 copy (rows, D) in scratch.
lmt_status convert(Scratch& sc, bf16** out, const float* x, int64_t rows, int64_t HS, int D, const char* fn) {
  if (lmt_status s = sc.get(out, (size_t)(rows * D))) return s;
  to_bf16_padded<<<LMT_GRID(rows * (D / 2), 256)>>>(reinterpret_cast<unsigned*>(*out), x, rows, HS, D);
  return launched(fn);
}

template <int D>
constexpr size_t smem_fwd() { return 5 * Lay<D>::elems * sizeof(bf16); }
template <int D>
constexpr size_t smem_dq() { return 6 * Lay<D>::elems * sizeof(bf16); }
template <int D>
constexpr size_t smem_dkdv() { return 6 * Lay<D>::elems * sizeof(bf16) + 4 * TILE * sizeof(float); }

template <int D>
lmt_status forward_d(const AttnArgs& A, const char* fn) {
  Scratch sc;
  bf16 *q, *k, *v;
  const int64_t BH = A.B * A.NH;
  if (lmt_status s = convert(sc, &q, A.q, BH * A.Tq, A.HS, D, fn)) return s;
  if (lmt_status s = convert(sc, &k, A.k, BH * A.Tk, A.HS, D, fn)) return s;
  if (lmt_status s = convert(sc, &v, A.v, BH * A.Tk, A.HS, D, fn)) return s;
  const size_t smem = smem_fwd<D>();
  static bool attr = false;
  if (lmt_status s = allow_dynamic_smem(fwd_kernel<D>, smem, attr, fn)) return s;
  const int64_t grid = BH * ((A.Tq + ROWS - 1) / ROWS);
  fwd_kernel<D><<<(unsigned)grid, THREADS, smem, stream()>>>(A, q, k, v);
  return launched(fn);
}

template <int D>
lmt_status backward_d(const AttnArgs& A, const char* fn) {
  Scratch sc;
  bf16 *q, *k, *v, *g;
  const int64_t BH = A.B * A.NH;
  if (lmt_status s = convert(sc, &q, A.q, BH * A.Tq, A.HS, D, fn)) return s;
  if (lmt_status s = convert(sc, &k, A.k, BH * A.Tk, A.HS, D, fn)) return s;
  if (lmt_status s = convert(sc, &v, A.v, BH * A.Tk, A.HS, D, fn)) return s;
  if (lmt_status s = convert(sc, &g, A.dout, BH * A.Tq, A.HS, D, fn)) return s;
  static bool attr_dq = false, attr_dkdv = false;
  if (lmt_status s = allow_dynamic_smem(dq_kernel<D>, smem_dq<D>(), attr_dq, fn)) return s;
  if (lmt_status s = allow_dynamic_smem(dkdv_kernel<D>, smem_dkdv<D>(), attr_dkdv, fn)) return s;
  const int64_t gq = BH * ((A.Tq + ROWS - 1) / ROWS), gk = BH * ((A.Tk + ROWS - 1) / ROWS);
  dq_kernel<D><<<(unsigned)gq, THREADS, smem_dq<D>(), stream()>>>(A, q, k, v, g);
  if (lmt_status s = launched(fn)) return s;
  dkdv_kernel<D><<<(unsigned)gk, THREADS, smem_dkdv<D>(), stream()>>>(A, q, k, v, g);
  return launched(fn);
}

template <int D>
size_t smem_need(bool backward) {
  return backward ? std::max(smem_dq<D>(), smem_dkdv<D>()) : smem_fwd<D>();
}

}  // namespace

bool mma_usable(int64_t HS, bool backward) {
  if (HS < 1 || HS > mma_max_head || !tensor_cores()) return false;
  static const int optin = [] {
    int dev = 0, v = 0;
    cudaGetDevice(&dev);
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess) v = 0;
    return v;
  }();
  const size_t need = HS <= 32 ? smem_need<32>(backward) : HS <= 64 ? smem_need<64>(backward) : smem_need<128>(backward);
  return need <= (size_t)optin;
}

lmt_status forward_mma(const AttnArgs& A, const char* fn) {
  if (A.HS <= 32) return forward_d<32>(A, fn);
  if (A.HS <= 64) return forward_d<64>(A, fn);
  return forward_d<128>(A, fn);
}

lmt_status backward_mma(const AttnArgs& A, const char* fn) {
  if (A.HS <= 32) return backward_d<32>(A, fn);
  if (A.HS <= 64) return backward_d<64>(A, fn);
  return backward_d<128>(A, fn);
}

}  // namespace attn
}  // namespace cuda
}  // namespace lmt
