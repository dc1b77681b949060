// Batched GEMM on the GPU, lmt_matmul's contract: C_b = alpha op(A_b) op(B_b) + beta C_b.
//
// Two kernels:
//  - fp32 (the default precision, so results match the CPU within fp32 rounding): a 128x128
//    block tile, 8x8 outputs per thread from shared memory, any transpose, stride or size.
//  - tensor cores (sm_80+) with fp32 accumulation, in bf16 (mma.sync m16n8k16, ldmatrix
//    fragment loads, .trans for operands whose contiguous dimension is not K) or tf32
//    (m16n8k8, fragments read from shared memory and rounded to tf32). Operands are first
//    packed (bf16, or fp32 for tf32) with their contiguous dimension zero-padded to whole
//    16-byte chunks, so every tile load is a 16-byte cp.async (zero-filled past the edges) and
//    the main loop has no bounds checks: a 4-stage cp.async pipeline over K, 128x128 block
//    tiles (K 32 bf16 or 16 fp32 per stage), 8 warps of 64x32. Operands already in that form
//    are used in place. fp32 matmuls take this path when the precision is BF16 or TF32
//    (lmt_cuda_set_matmul_precision); lmt_cuda_matmul_bf16 always does.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common.cuh"
#include "mma.cuh"

namespace {

// ---- fp32 SIMT kernel ------------------------------------------------------------------------
constexpr int F_BM = 128, F_BN = 128, F_BK = 8;

struct MM {
  int64_t M, N, K, lda, ldb, ldc, sa, sb, sc, batch;
  int ta, tb;
  float alpha, beta;
};

__global__ void __launch_bounds__(256) sgemm_f32(float* __restrict__ c, const float* __restrict__ a,
                                                 const float* __restrict__ b, MM p) {
  __shared__ float As[F_BK][F_BM + 4];
  __shared__ float Bs[F_BK][F_BN + 4];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int64_t m0 = (int64_t)blockIdx.y * F_BM, n0 = (int64_t)blockIdx.x * F_BN;
  for (int64_t bi = blockIdx.z; bi < p.batch; bi += gridDim.z) {
    const float* A = a + bi * p.sa;
    const float* Bm = b + bi * p.sb;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
    for (int64_t k0 = 0; k0 < p.K; k0 += F_BK) {
      // 1024 elements of each tile, 4 per thread. Index order follows the stored layout so
      // that consecutive threads read consecutive addresses.
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        int e = tid + r * 256;
        int mm, kk;
        if (p.ta) { kk = e / F_BM; mm = e % F_BM; } else { mm = e / F_BK; kk = e % F_BK; }
        int64_t gm = m0 + mm, gk = k0 + kk;
        float v = 0.f;
        if (gm < p.M && gk < p.K) v = p.ta ? A[gk * p.lda + gm] : A[gm * p.lda + gk];
        As[kk][mm] = v;
        int nn;
        if (p.tb) { nn = e / F_BK; kk = e % F_BK; } else { kk = e / F_BN; nn = e % F_BN; }
        int64_t gn = n0 + nn;
        gk = k0 + kk;
        float w = 0.f;
        if (gn < p.N && gk < p.K) w = p.tb ? Bm[gn * p.ldb + gk] : Bm[gk * p.ldb + gn];
        Bs[kk][nn] = w;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < F_BK; ++kk) {
        float av[8], bv[8];
        // Rows ty*4..+3 and 64+ty*4..+3 (columns likewise): two float4 reads each.
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          av[i] = As[kk][ty * 4 + i];
          av[4 + i] = As[kk][64 + ty * 4 + i];
          bv[i] = Bs[kk][tx * 4 + i];
          bv[4 + i] = Bs[kk][64 + tx * 4 + i];
        }
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
      __syncthreads();
    }
    float* C = c + bi * p.sc;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      int64_t gm = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
      if (gm >= p.M) continue;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        int64_t gn = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
        if (gn >= p.N) continue;
        float* out = C + gm * p.ldc + gn;
        float v = p.alpha * acc[i][j];
        if (p.beta != 0.f) v += p.beta * *out;
        *out = v;
      }
    }
  }
}

// C = beta * C when there is no product (K == 0 or alpha == 0); beta == 0 writes zeros.
__global__ void scale_c(float* c, MM p) {
  int64_t total = p.batch * p.M * p.N;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t bi = e / (p.M * p.N), r = (e / p.N) % p.M, col = e % p.N;
    float* out = c + bi * p.sc + r * p.ldc + col;
    *out = p.beta == 0.f ? 0.f : p.beta * *out;
  }
}

// ---- tensor-core kernel: bf16 (m16n8k16) or tf32 (m16n8k8) ----------------------------------
// E is the element type in shared memory: __nv_bfloat16, or float for tf32 (rounded to tf32,
// round-to-nearest-away, as fragments are read). A K-tile holds 16 bytes x 4 per row of K:
// 32 bf16 or 16 floats, so both take 512 16-byte chunks per operand and stage.
constexpr int T_BM = 128, T_BN = 128, T_STAGES = 4, T_THREADS = 256;

template <class E>
struct Elem {
  static constexpr bool tf32 = sizeof(E) == 4;
  static constexpr int per_chunk = 16 / (int)sizeof(E);  // elements per 16-byte copy
  static constexpr int BK = tf32 ? 16 : 32;              // K per stage
  static constexpr int KSTEP = tf32 ? 8 : 16;            // K per mma
};

// Shared tile of one operand: K-contiguous tiles are [128][BK + pad], the others [BK][128 + pad].
// Pads keep 16-byte rows and make the fragment reads conflict-free (ldmatrix rows for bf16; for
// tf32 the lanes' (g, t) reads: stride 20 floats when K-contiguous, 136 otherwise).
template <class E, bool KCONTIG>
struct TileShape {
  static constexpr int rows = KCONTIG ? 128 : Elem<E>::BK;
  static constexpr int cols = KCONTIG ? Elem<E>::BK : 128;
  static constexpr int ld = cols + (Elem<E>::tf32 ? (KCONTIG ? 4 : 8) : 8);
  static constexpr int elems = rows * ld;
};

template <class E>
struct TC {
  const E* a;
  const E* b;
  void* c;
  int64_t M, N, K, lda, ldb, ldc, sa, sb, sc, batch;
  int64_t a_rows, a_cols, b_rows, b_cols;  // stored extents (cols padded to a whole chunk)
  float alpha, beta;
  int c_bf16;
};

// Loads one K-tile of an operand into shared memory, zero-filling past the stored extents
// (rows, cols: for a K-contiguous operand the stored rows are M or N and the columns K).
template <class E, bool KCONTIG>
__device__ __forceinline__ void load_tile(E* sm, const E* g, int64_t ld, int64_t row0, int64_t rows, int64_t col0,
                                          int64_t cols, int tid) {
  using S = TileShape<E, KCONTIG>;
  constexpr int pc = Elem<E>::per_chunk;
  constexpr int chunks_per_row = S::cols / pc;
  constexpr int total = S::rows * chunks_per_row;  // 512
#pragma unroll
  for (int c = tid; c < total; c += T_THREADS) {
    int r = c / chunks_per_row, ch = c % chunks_per_row;
    int64_t gr = row0 + r, gc = col0 + ch * pc;
    bool valid = gr < rows && gc < cols;
    const E* src = valid ? g + gr * ld + gc : g;
    cp_async16(sm + r * S::ld + ch * pc, src, valid);
  }
}

// C[bi][gm][gn] = alpha acc + beta C (fp32 or bf16 C; beta == 0 never reads C).
template <class E>
__device__ __forceinline__ void store_c(const TC<E>& p, int64_t bi, int64_t gm, int64_t gn, float acc) {
  float v = p.alpha * acc;
  const int64_t off = bi * p.sc + gm * p.ldc + gn;
  if (p.c_bf16) {
    __nv_bfloat16* out = reinterpret_cast<__nv_bfloat16*>(p.c) + off;
    if (p.beta != 0.f) v += p.beta * __bfloat162float(*out);
    *out = __float2bfloat16_rn(v);
  } else {
    float* out = reinterpret_cast<float*>(p.c) + off;
    if (p.beta != 0.f) v += p.beta * *out;
    *out = v;
  }
}

template <class E, bool TA, bool TB>
__global__ void __launch_bounds__(T_THREADS) gemm_tc(TC<E> p) {
#if __CUDA_ARCH__ >= 800
  // A is K-contiguous unless transposed; B is K-contiguous when transposed.
  constexpr bool A_KC = !TA, B_KC = TB;
  using SA = TileShape<E, A_KC>;
  using SB = TileShape<E, B_KC>;
  constexpr int BK = Elem<E>::BK, KSTEP = Elem<E>::KSTEP;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  E* sA = reinterpret_cast<E*>(smem_raw);
  E* sB = sA + T_STAGES * SA::elems;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;  // 2 x 4 warps, each 64 x 32
  const int64_t m0 = (int64_t)blockIdx.y * T_BM, n0 = (int64_t)blockIdx.x * T_BN;
  const int64_t KT = (p.K + BK - 1) / BK;
  const int g = lane >> 2, t = lane & 3;
  const int mi = lane >> 3, r8 = lane & 7;  // ldmatrix: which 8x8 matrix this lane addresses, and row

  for (int64_t bi = blockIdx.z; bi < p.batch; bi += gridDim.z) {
    const E* A = p.a + bi * p.sa;
    const E* B = p.b + bi * p.sb;
    auto load_stage = [&](int stage, int64_t kt) {
      int64_t k0 = kt * BK;
      if (A_KC) load_tile<E, true>(sA + stage * SA::elems, A, p.lda, m0, p.a_rows, k0, p.a_cols, tid);
      else load_tile<E, false>(sA + stage * SA::elems, A, p.lda, k0, p.a_rows, m0, p.a_cols, tid);
      if (B_KC) load_tile<E, true>(sB + stage * SB::elems, B, p.ldb, n0, p.b_rows, k0, p.b_cols, tid);
      else load_tile<E, false>(sB + stage * SB::elems, B, p.ldb, k0, p.b_rows, n0, p.b_cols, tid);
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.f;

#pragma unroll
    for (int s = 0; s < T_STAGES - 1; ++s) {
      if (s < KT) load_stage(s, s);
      cp_commit();
    }
    for (int64_t kt = 0; kt < KT; ++kt) {
      cp_wait<T_STAGES - 2>();
      __syncthreads();
      {
        int64_t nk = kt + T_STAGES - 1;
        if (nk < KT) load_stage((int)(nk % T_STAGES), nk);
        cp_commit();
      }
      const E* tA = sA + (kt % T_STAGES) * SA::elems;
      const E* tB = sB + (kt % T_STAGES) * SB::elems;
#pragma unroll
      for (int kk = 0; kk < BK; kk += KSTEP) {
        unsigned af[4][4], bfr[4][2];
        if constexpr (Elem<E>::tf32) {
          // m16n8k8 tf32 fragments (PTX ISA): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4);
          // b0 (k t, n g), b1 (k t+4, n g). Element (row, k) of A is tA[row][k] when
          // K-contiguous, tA[k][row] otherwise; B likewise with n.
          auto at = [&](int row, int k) { return A_KC ? tA[row * SA::ld + k] : tA[k * SA::ld + row]; };
          auto bt = [&](int k, int n) { return B_KC ? tB[n * SB::ld + k] : tB[k * SB::ld + n]; };
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            int mb = wm * 64 + i * 16;
            af[i][0] = to_tf32(at(mb + g, kk + t));
            af[i][1] = to_tf32(at(mb + g + 8, kk + t));
            af[i][2] = to_tf32(at(mb + g, kk + t + 4));
            af[i][3] = to_tf32(at(mb + g + 8, kk + t + 4));
          }
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            int nb = wn * 32 + j * 8;
            bfr[j][0] = to_tf32(bt(kk + t, nb + g));
            bfr[j][1] = to_tf32(bt(kk + t + 4, nb + g));
          }
#pragma unroll
          for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) mma_tf32(acc[i][j], af[i], bfr[j][0], bfr[j][1]);
        } else {
          unsigned bq[2][4];
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            int mb = wm * 64 + i * 16;
            if (A_KC) {
              // matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (8-15, 8-15)
              ldsm_x4(af[i], tA + (mb + (mi & 1) * 8 + r8) * SA::ld + kk + (mi >> 1) * 8);
            } else {
              ldsm_x4_t(af[i], tA + (kk + (mi >> 1) * 8 + r8) * SA::ld + mb + (mi & 1) * 8);
            }
          }
#pragma unroll
          for (int j = 0; j < 2; ++j) {
            int nb = wn * 32 + j * 16;
            if (B_KC) {
              // matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
              ldsm_x4(bq[j], tB + (nb + (mi >> 1) * 8 + r8) * SB::ld + kk + (mi & 1) * 8);
            } else {
              ldsm_x4_t(bq[j], tB + (kk + (mi & 1) * 8 + r8) * SB::ld + nb + (mi >> 1) * 8);
            }
          }
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            bfr[j][0] = bq[j >> 1][(j & 1) * 2];
            bfr[j][1] = bq[j >> 1][(j & 1) * 2 + 1];
          }
#pragma unroll
          for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) mma_bf16(acc[i][j], af[i], bfr[j][0], bfr[j][1]);
        }
      }
    }
    cp_wait<0>();
    __syncthreads();  // the next batch's prologue overwrites the stages

#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        int64_t gm = m0 + wm * 64 + i * 16 + g + h * 8;
        if (gm >= p.M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            int64_t gn = n0 + wn * 32 + j * 8 + 2 * t + e;
            if (gn >= p.N) continue;
            store_c(p, bi, gm, gn, acc[i][j][h * 2 + e]);
          }
        }
      }
    }
  }
#endif
}

// Packs rows x cols (leading dimension ld, batch stride s) into rows of colsp elements of E
// (zero-padded to a whole 16-byte chunk), batch stride rows * colsp.
template <class E, class T>
__global__ void pack_rows(E* out, const T* in, int64_t batch, int64_t rows, int64_t cols, int64_t ld, int64_t s,
                          int64_t colsp) {
  int64_t total = batch * rows * colsp;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t col = e % colsp, r = (e / colsp) % rows, bi = e / (colsp * rows);
    float v = 0.f;
    if (col < cols) {
      T x = in[bi * s + r * ld + col];
      if constexpr (sizeof(T) == 4) v = (float)x;
      else v = __bfloat162float(x);
    }
    if constexpr (sizeof(E) == 4) out[e] = v;
    else out[e] = __float2bfloat16_rn(v);
  }
}

// Packs the transpose: out (per batch rows x colsp, zero past cols) from in stored as
// (cols x rows) with leading dimension ld and batch stride s, through 32 x 32 shared tiles so
// that reads and writes are both coalesced. Grid (colsp / 32, rows / 32, batches).
template <class T>
__global__ void __launch_bounds__(256) pack_transposed(__nv_bfloat16* out, const T* in, int64_t batch, int64_t rows,
                                                      int64_t cols, int64_t ld, int64_t s, int64_t colsp) {
  __shared__ float tile[32][33];
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;  // 32 x 8
  const int64_t c0 = (int64_t)blockIdx.x * 32, r0 = (int64_t)blockIdx.y * 32;
  for (int64_t bi = blockIdx.z; bi < batch; bi += gridDim.z) {
    for (int y = ty; y < 32; y += 8) {
      const int64_t c = c0 + y, r = r0 + tx;
      float v = 0.f;
      if (c < cols && r < rows) {
        T x = in[bi * s + c * ld + r];
        if constexpr (sizeof(T) == 4) v = (float)x;
        else v = __bfloat162float(x);
      }
      tile[y][tx] = v;
    }
    __syncthreads();
    for (int y = ty; y < 32; y += 8) {
      const int64_t r = r0 + y, c = c0 + tx;
      if (r < rows && c < colsp) out[(bi * rows + r) * colsp + c] = __float2bfloat16_rn(tile[tx][y]);
    }
    __syncthreads();
  }
}

// ---- sm_90a: wgmma kernel ---------------------------------------------------------------------
// bf16 with both operands K-major (run_tc packs the others transposed): 128 x 128 block tiles,
// two warpgroups of 64 x 128 (wgmma m64n128k16, 64 fp32 accumulators per thread), K in steps
// of 64 (one 128-byte swizzled row per operand row) through a 5-stage cp.async ring: 32 KiB
// per stage. Every thread loads; each stage's loads are fenced into the async proxy before
// the barrier that precedes the wgmmas reading them. One wgmma group stays in flight while
// the next is issued (wait_group 1), so the tensor cores never wait for the issuing warps;
// the stage that group reads is therefore not reloaded yet: loads run W_STAGES - 2 stages
// ahead, into the stage whose group finished (by every warpgroup) before the last barrier.
constexpr int W_BM = 128, W_BN = 128, W_BK = 64, W_STAGES = 5, W_THREADS = 256;
constexpr int W_TILE = 128 * 128;  // bytes of one operand's tile: 128 rows x 128 bytes
constexpr size_t W_SMEM = (size_t)W_STAGES * 2 * W_TILE + 1024;  // + alignment slack

__global__ void __launch_bounds__(W_THREADS) gemm_wgmma(TC<__nv_bfloat16> p) {
  if (!have_wgmma()) return;  // never launched where the probe said no
  extern __shared__ __align__(16) unsigned char smem_raw[];
  // The swizzle is a function of address bits 4-9: tiles start on 1024-byte boundaries.
  unsigned char* smem = smem_raw + ((1024 - ((uintptr_t)smem_raw & 1023)) & 1023);
  const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31;
  const int g = lane >> 2, t = lane & 3;
  const int64_t m0 = (int64_t)blockIdx.y * W_BM, n0 = (int64_t)blockIdx.x * W_BN;
  const int64_t KT = (p.K + W_BK - 1) / W_BK;
  auto tile = [&](int stage, int op) { return smem + (stage * 2 + op) * W_TILE; };

  for (int64_t bi = blockIdx.z; bi < p.batch; bi += gridDim.z) {
    const __nv_bfloat16* A = p.a + bi * p.sa;
    const __nv_bfloat16* B = p.b + bi * p.sb;
    auto load_stage = [&](int stage, int64_t kt) {
      const int64_t k0 = kt * W_BK;
#pragma unroll
      for (int c = tid; c < 2 * 128 * 8; c += W_THREADS) {
        const int op = c >> 10, r = (c >> 3) & 127, ch = c & 7;
        const int64_t row = (op ? n0 : m0) + r, col = k0 + ch * 8;
        const bool valid = row < (op ? p.b_rows : p.a_rows) && col < (op ? p.b_cols : p.a_cols);
        const __nv_bfloat16* src = op ? B + row * p.ldb + col : A + row * p.lda + col;
        cp_async16(tile(stage, op) + r * 128 + ((ch ^ (r & 7)) << 4), valid ? src : (op ? B : A), valid);
      }
    };
    float acc[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[i] = 0.f;
#pragma unroll
    for (int st = 0; st < W_STAGES - 2; ++st) {
      if (st < KT) load_stage(st, st);
      cp_commit();
    }
    for (int64_t kt = 0; kt < KT; ++kt) {
      cp_wait<W_STAGES - 3>();  // stage kt has landed
      fence_proxy_async();
      // Also: every warpgroup has passed its wait_group 1 of step kt - 1, so the group of step
      // kt - 2 is done everywhere and its stage can be loaded again.
      __syncthreads();
      {
        const int64_t nk = kt + W_STAGES - 2;
        if (nk < KT) load_stage((int)(nk % W_STAGES), nk);
        cp_commit();
      }
      const int st = (int)(kt % W_STAGES);
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < W_BK / 16; ++ks) wgmma_m64n128(acc, tile(st, 0) + wg * 64 * 128, tile(st, 1), ks);
      wgmma_commit();
      wgmma_wait<1>();
    }
    wgmma_wait<0>();
    wgmma_hold(acc);
    cp_wait<0>();
    __syncthreads();  // the next batch's prologue overwrites the stages

#pragma unroll
    for (int e2 = 0; e2 < 2; ++e2) {
      const int64_t gm = m0 + wg * 64 + warp * 16 + g + e2 * 8;
      if (gm >= p.M) continue;
#pragma unroll
      for (int j = 0; j < 16; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t gn = n0 + j * 8 + 2 * t + e;
          if (gn < p.N) store_c(p, bi, gm, gn, acc[4 * j + e2 * 2 + e]);
        }
    }
  }
}

// Sets *out to 1 where the wgmma instructions were compiled in for the running device.
__global__ void wgmma_probe(int* out) { *out = have_wgmma() ? 1 : 0; }

template <class E>
constexpr size_t tc_smem_bytes(bool a_kc, bool b_kc) {
  return (size_t)T_STAGES *
         ((a_kc ? TileShape<E, true>::elems : TileShape<E, false>::elems) +
          (b_kc ? TileShape<E, true>::elems : TileShape<E, false>::elems)) *
         sizeof(E);
}

template <class E, bool TA, bool TB>
lmt_status launch_tc(const TC<E>& p, const char* fn) {
  size_t smem = tc_smem_bytes<E>(!TA, TB);
  static bool attr_set = false;
  if (lmt_status s = lmt::cuda::allow_dynamic_smem(gemm_tc<E, TA, TB>, smem, attr_set, fn)) return s;
  dim3 grid((unsigned)((p.N + T_BN - 1) / T_BN), (unsigned)((p.M + T_BM - 1) / T_BM),
            (unsigned)(p.batch < 65535 ? p.batch : 65535));
  gemm_tc<E, TA, TB><<<grid, T_THREADS, smem, lmt::cuda::stream()>>>(p);
  return lmt::cuda::launched(fn);
}

lmt_status launch_wgmma(const TC<__nv_bfloat16>& p, const char* fn) {
  static bool attr_set = false;
  if (lmt_status s = lmt::cuda::allow_dynamic_smem(gemm_wgmma, W_SMEM, attr_set, fn)) return s;
  dim3 grid((unsigned)((p.N + W_BN - 1) / W_BN), (unsigned)((p.M + W_BM - 1) / W_BM),
            (unsigned)(p.batch < 65535 ? p.batch : 65535));
  gemm_wgmma<<<grid, W_THREADS, W_SMEM, lmt::cuda::stream()>>>(p);
  return lmt::cuda::launched(fn);
}

// The tensor-core path: operands of type T computed as E (bf16, or fp32 rounded to tf32).
// What is not already E with whole 16-byte chunks per row is packed first; for the wgmma
// kernel (wg, bf16 only) operands must also be K-major, so an M- or N-major one is packed
// transposed.
template <class E, class T>
lmt_status run_tc(const char* fn, void* c, int c_bf16, const T* a, const T* b, int64_t batch, int64_t M,
                  int64_t N, int64_t K, int ta, int tb, int64_t lda, int64_t ldb, int64_t ldc, int64_t sa,
                  int64_t sb, int64_t sc, float alpha, float beta, bool wg = false) {
  constexpr int64_t pc = Elem<E>::per_chunk;
  TC<E> p{};
  p.c = c;
  p.c_bf16 = c_bf16;
  p.M = M; p.N = N; p.K = K; p.ldc = ldc; p.sc = sc; p.batch = batch;
  p.alpha = alpha; p.beta = beta;
  // Stored extents: A is (M,K) or (K,M); B is (K,N) or (N,K).
  int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  void* bufs[2] = {nullptr, nullptr};
  size_t sizes[2] = {0, 0};
  // Stored rows x cols of x become out_rows x out_cols (cols padded to whole chunks), or the
  // transpose when `transpose`.
  auto prepare = [&](int which, const T* x, int64_t rows, int64_t cols, int64_t ld, int64_t s, bool transpose,
                     const E** out, int64_t* out_ld, int64_t* out_s, int64_t* out_rows,
                     int64_t* out_cols) -> lmt_status {
    bool aligned = sizeof(T) == sizeof(E) && cols % pc == 0 && ld % pc == 0 && s % pc == 0 &&
                   ((uintptr_t)x % 16) == 0;
    *out_rows = rows;
    if (transpose) {
      if constexpr (sizeof(E) == 2) {
        const int64_t colsp = (rows + pc - 1) / pc * pc;  // K, the stored rows, becomes the columns
        const int64_t nb = s == 0 ? 1 : batch;
        const int64_t total = nb * cols * colsp;
        sizes[which] = (size_t)total * sizeof(E);
        if (lmt_status st = lmt_cuda_malloc(&bufs[which], sizes[which])) return st;
        dim3 grid((unsigned)((colsp + 31) / 32), (unsigned)((cols + 31) / 32), (unsigned)(nb < 65535 ? nb : 65535));
        pack_transposed<T><<<grid, 256, 0, lmt::cuda::stream()>>>(reinterpret_cast<E*>(bufs[which]), x, nb, cols,
                                                                    rows, ld, s, colsp);
        *out = reinterpret_cast<const E*>(bufs[which]);
        *out_ld = colsp;
        *out_s = s == 0 ? 0 : cols * colsp;
        *out_rows = cols;
        *out_cols = colsp;
        return lmt::cuda::launched(fn);
      }
    }
    if (aligned) {
      *out = reinterpret_cast<const E*>(x);
      *out_ld = ld;
      *out_s = s;
      *out_cols = cols;
      return LMT_OK;
    }
    int64_t colsp = (cols + pc - 1) / pc * pc;
    int64_t nb = s == 0 ? 1 : batch;  // a broadcast operand is packed once
    int64_t total = nb * rows * colsp;
    sizes[which] = (size_t)total * sizeof(E);
    lmt_status st = lmt_cuda_malloc(&bufs[which], sizes[which]);
    if (st != LMT_OK) return st;
    pack_rows<E, T><<<lmt::cuda::blocks_for(total, 256), 256, 0, lmt::cuda::stream()>>>(
        reinterpret_cast<E*>(bufs[which]), x, nb, rows, cols, ld, s, colsp);
    *out = reinterpret_cast<const E*>(bufs[which]);
    *out_ld = colsp;
    *out_s = s == 0 ? 0 : rows * colsp;
    *out_cols = colsp;
    return lmt::cuda::launched(fn);
  };
  // The transposing pack's grid has (rows / 32) in y: beyond 65535 * 32 rows, mma.sync.
  // With no product (K == 0: lmt_cuda_matmul_bf16's beta-only case) the transposing pack would
  // launch an empty grid; mma.sync handles that case.
  wg = wg && sizeof(E) == 2 && K > 0 && (ta ? M : 0) < 65535 * 32 && (tb ? 0 : N) < 65535 * 32;
  lmt_status st = prepare(0, a, ar, ac, lda, sa, wg && ta, &p.a, &p.lda, &p.sa, &p.a_rows, &p.a_cols);
  if (st == LMT_OK) st = prepare(1, b, br, bc, ldb, sb, wg && !tb, &p.b, &p.ldb, &p.sb, &p.b_rows, &p.b_cols);
  if (st == LMT_OK && wg) {
    if constexpr (sizeof(E) == 2) st = launch_wgmma(p, fn);
  } else if (st == LMT_OK) {
    if (!ta && !tb) st = launch_tc<E, false, false>(p, fn);
    else if (!ta && tb) st = launch_tc<E, false, true>(p, fn);
    else if (ta && !tb) st = launch_tc<E, true, false>(p, fn);
    else st = launch_tc<E, true, true>(p, fn);
  }
  // Queued work on the one stream finishes before the cache hands these blocks out again.
  for (int i = 0; i < 2; ++i)
    if (bufs[i]) lmt_cuda_free(bufs[i], sizes[i]);
  return st;
}

// ---- which bf16 kernel -----------------------------------------------------------------------
int g_gemm_kernel = 0;   // lmt_cuda_set_gemm_kernel: 0 auto, 1 mma.sync
int g_wgmma_state = -1;  // -1 not yet decided, 0 unusable, 1 usable

// One product through the wgmma path against the exact host result: entries are multiples of
// 1/64 below 2 in magnitude, so products are multiples of 2^-12 below 4 and every partial sum
// (at most 712 terms: below 2^24 units of 2^-12) is exact in fp32; any difference is a kernel
// (layout, swizzle, descriptor, fence, pipeline) error rather than rounding. K = 712 is 12
// k-tiles, so the stage ring wraps twice and the last tile is partial: a stage reloaded while
// a wgmma group still reads it can show here (always under the emulation, which runs each
// group at its wait; on a GPU when the timing exposes it). Two layouts: both operands K-major (used in place)
// and both transposed (packed transposed).
bool wgmma_self_check(double* worst) {
  const int64_t M = 192, N = 160, K = 712;
  std::vector<uint16_t> a((size_t)(M * K)), b((size_t)(N * K));
  auto val = [](int64_t i) { return (float)((i * 7919 + 13) % 251 - 125) / 64.f; };
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);  // exact: the values have at most 8 significant bits
  };
  std::vector<double> ref((size_t)(M * N), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += (double)val(i * K + k) * val(1000003 + j * K + k);
      ref[(size_t)(i * N + j)] = acc;
    }
  bool ok = true;
  *worst = 0;
  void *da = nullptr, *db = nullptr, *dc = nullptr;
  const size_t abytes = a.size() * 2, bbytes = b.size() * 2, cbytes = (size_t)(M * N) * 4;
  if (lmt_cuda_malloc(&da, abytes) || lmt_cuda_malloc(&db, bbytes) || lmt_cuda_malloc(&dc, cbytes)) ok = false;
  for (int trans = 0; trans < 2 && ok; ++trans) {
    // trans 0: A (M, K), B (N, K) with tb; trans 1: A stored (K, M) with ta, B (K, N).
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) a[(size_t)(trans ? k * M + i : i * K + k)] = bits(val(i * K + k));
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) b[(size_t)(trans ? k * N + j : j * K + k)] = bits(val(1000003 + j * K + k));
    std::vector<float> c((size_t)(M * N));
    ok = lmt_cuda_memcpy_h2d(da, a.data(), abytes) == LMT_OK && lmt_cuda_memcpy_h2d(db, b.data(), bbytes) == LMT_OK &&
         run_tc<__nv_bfloat16, __nv_bfloat16>("wgmma self-check", dc, 0,
                                              reinterpret_cast<const __nv_bfloat16*>(da),
                                              reinterpret_cast<const __nv_bfloat16*>(db), 1, M, N, K, trans, 1 - trans,
                                              trans ? M : K, trans ? N : K, N, 0, 0, 0, 1.f, 0.f, true) == LMT_OK &&
         lmt_cuda_memcpy_d2h(c.data(), dc, cbytes) == LMT_OK;
    for (size_t e = 0; ok && e < c.size(); ++e) {
      const double d = std::fabs((double)c[e] - ref[e]);
      if (!(d <= *worst)) *worst = d;
    }
    if (*worst != 0) ok = false;
  }
  if (da) lmt_cuda_free(da, abytes);
  if (db) lmt_cuda_free(db, bbytes);
  if (dc) lmt_cuda_free(dc, cbytes);
  return ok;
}

// Whether bf16 products take the wgmma kernel: compute capability 9.0 with sm_90a code in this
// binary (a probe kernel), and the self-check above passed on first use. A failed check is
// reported once on stderr and leaves the mma.sync kernel in use.
bool use_wgmma() {
  if (g_gemm_kernel == 1) return false;
  if (g_wgmma_state >= 0) return g_wgmma_state == 1;
  g_wgmma_state = 0;
  int dev = 0, major = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess || major != 9)
    return false;
  int* flag = nullptr;
  int have = 0;
  if (lmt_cuda_malloc((void**)&flag, sizeof(int)) != LMT_OK) return false;
  wgmma_probe<<<1, 1, 0, lmt::cuda::stream()>>>(flag);
  const bool probed = lmt::cuda::launched("wgmma probe") == LMT_OK &&
                      lmt_cuda_memcpy_d2h(&have, flag, sizeof(int)) == LMT_OK;
  lmt_cuda_free(flag, sizeof(int));
  if (!probed || !have) return false;
  double worst = 0;
  bool passed = false;
  try {
    passed = wgmma_self_check(&worst);
  } catch (...) {  // host allocation: no exception crosses the C ABI
  }
  if (!passed) {
    if (worst > 0)
      std::fprintf(stderr,
                   "lmtrain: the sm_90a wgmma GEMM failed its self-check on this device (largest difference %g "
                   "from the exact product); bf16 matmuls use the mma.sync kernel\n",
                   worst);
    else
      std::fprintf(stderr,
                   "lmtrain: the sm_90a wgmma GEMM self-check could not run (%s); bf16 matmuls use the mma.sync "
                   "kernel\n",
                   lmt_last_error());
    return false;
  }
  g_wgmma_state = 1;
  return true;
}

}  // namespace

extern "C" lmt_status lmt_cuda_matmul(float* c, const float* a, const float* b, int64_t batch, int64_t M,
                                      int64_t N, int64_t K, int trans_a, int trans_b, int64_t lda, int64_t ldb,
                                      int64_t ldc, int64_t sa, int64_t sb, int64_t sc, float alpha, float beta) {
  LMT_GUARD_BEGIN
  bool need_ab = false;
  LMT_CHECK(lmt::check_matmul(__func__, c, a, b, batch, M, N, K, trans_a, trans_b, lda, ldb, ldc, sa, sb, sc, alpha,
                              &need_ab));
  if (batch == 0 || M == 0 || N == 0) return LMT_OK;
  MM p{M, N, K, lda, ldb, ldc, sa, sb, sc, batch, trans_a, trans_b, alpha, beta};
  if (!need_ab) {
    scale_c<<<lmt::cuda::blocks_for(batch * M * N, 256), 256, 0, lmt::cuda::stream()>>>(c, p);
    LMT_CUDA_LAUNCHED();
  }
  const int prec = lmt_cuda_get_matmul_precision();
  if (prec == LMT_PREC_BF16 && lmt::cuda::tensor_cores())
    return run_tc<__nv_bfloat16, float>(__func__, c, 0, a, b, batch, M, N, K, trans_a, trans_b, lda, ldb, ldc, sa,
                                        sb, sc, alpha, beta, use_wgmma());
  if (prec == LMT_PREC_TF32 && lmt::cuda::tensor_cores())
    return run_tc<float, float>(__func__, c, 0, a, b, batch, M, N, K, trans_a, trans_b, lda, ldb, ldc, sa, sb, sc,
                                alpha, beta);
  dim3 grid((unsigned)((N + F_BN - 1) / F_BN), (unsigned)((M + F_BM - 1) / F_BM),
            (unsigned)(batch < 65535 ? batch : 65535));
  sgemm_f32<<<grid, 256, 0, lmt::cuda::stream()>>>(c, a, b, p);
  LMT_CUDA_LAUNCHED();
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_matmul_bf16(void* c, int c_bf16, const uint16_t* a, const uint16_t* b,
                                           int64_t batch, int64_t M, int64_t N, int64_t K, int trans_a,
                                           int trans_b, int64_t lda, int64_t ldb, int64_t ldc, int64_t sa,
                                           int64_t sb, int64_t sc, float alpha, float beta) {
  LMT_GUARD_BEGIN
  LMT_ARG(c_bf16 == 0 || c_bf16 == 1, "%s: 'c_bf16' must be 0 or 1, got %d", __func__, c_bf16);
  bool need_ab = false;
  LMT_CHECK(lmt::check_matmul(__func__, c, a, b, batch, M, N, K, trans_a, trans_b, lda, ldb, ldc, sa, sb, sc, alpha,
                              &need_ab));
  if (batch == 0 || M == 0 || N == 0) return LMT_OK;
  LMT_ARG(lmt::cuda::tensor_cores(), "%s: bf16 tensor-core matmul needs compute capability 8.0 or newer", __func__);
  // With no product the kernel still runs with K = 0 (no K-tiles, nothing read from a or b,
  // which may be null): the epilogue writes beta * C, or zeros when beta == 0.
  if (!need_ab) a = b = nullptr, K = 0;
  return run_tc<__nv_bfloat16, __nv_bfloat16>(__func__, c, c_bf16, reinterpret_cast<const __nv_bfloat16*>(a),
                               reinterpret_cast<const __nv_bfloat16*>(b), batch, M, N, K, trans_a, trans_b,
                               lda, ldb, ldc, sa, sb, sc, alpha, beta, use_wgmma());
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_set_gemm_kernel(int kernel) {
  if (kernel != 0 && kernel != 1)
    return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_set_gemm_kernel: kernel must be 0 (auto) or 1 (mma.sync), got %d",
                    kernel);
  g_gemm_kernel = kernel;
  return LMT_OK;
}

extern "C" int lmt_cuda_gemm_kernel(void) {
  if (!lmt::cuda::tensor_cores()) return 0;
  return use_wgmma() ? 2 : 1;
}
