// Batched strided GEMM: C_b = alpha * op(A_b) op(B_b) + beta * C_b  (see lmt.h).
//
// Accumulation contract: the one kernel with explicit accumulation. beta == 0 overwrites C
// without reading it (NaN in C does not propagate); otherwise C is scaled by beta and the
// product added.
//
// Structure (Goto/BLIS): C is cut into cache blocks; for each block of K (KC) a panel of
// op(B) (KC, NC) and of op(A) (MC, KC) is packed into contiguous, zero-padded slivers so the
// MR x NR micro-kernel streams both with unit stride. Each C element sums its K terms in the
// same order whichever tile or thread computes it, so results do not depend on the thread
// count. The micro-kernel is AVX-512 (12 x 32) or AVX2+FMA (6 x 16) when the CPU has it
// (picked at run time; LMT_NO_AVX512=1 forces AVX2), else a portable loop the compiler
// vectorises with the baseline ISA.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LMT_X86 1
#endif

#include "checks.h"
#include "core.h"

namespace {

// Micro-tiles: 6 x 16 for AVX2 (12 ymm accumulators) and the portable loop, 12 x 32 for
// AVX-512 (24 zmm accumulators; 2 loads of B and 12 broadcasts of A feed 24 FMAs per k).
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;    // MC * KC * 4 bytes = 96 KiB of packed A: L2-resident
constexpr int64_t NC = 512;   // KC * NC * 4 bytes = 2 MiB of packed B

struct Operand {
  const float* p;
  int64_t ld;
  bool trans;  // element (r, c) of op(X) is p[c*ld + r] when trans, else p[r*ld + c]
};

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into MR-row slivers: (mc/MR, kc, MR).
template <int MR>
void pack_a(float* dst, const Operand& A, int64_t i0, int64_t mc, int64_t p0, int64_t kc) {
  for (int64_t is = 0; is < mc; is += MR) {
    int64_t rows = std::min<int64_t>(MR, mc - is);
    float* d = dst + is * kc;
    if (A.trans) {  // op(A)(i, p) = a[p*ld + i]: each k step reads MR contiguous floats
      for (int64_t p = 0; p < kc; ++p) {
        const float* s = A.p + (p0 + p) * A.ld + i0 + is;
        int64_t r = 0;
        for (; r < rows; ++r) d[p * MR + r] = s[r];
        for (; r < MR; ++r) d[p * MR + r] = 0.0f;
      }
    } else if (rows == MR) {
      // Row p of the sliver gathers one float from each of the MR rows: MR sequential read
      // streams and one sequential write, instead of MR strided passes over the sliver.
      const float* s = A.p + (i0 + is) * A.ld + p0;
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t r = 0; r < MR; ++r) d[p * MR + r] = s[r * A.ld + p];
    } else {
      for (int64_t r = 0; r < MR; ++r) {
        if (r < rows) {
          const float* s = A.p + (i0 + is + r) * A.ld + p0;
          for (int64_t p = 0; p < kc; ++p) d[p * MR + r] = s[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) d[p * MR + r] = 0.0f;
        }
      }
    }
  }
}

// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column slivers: (nc/NR, kc, NR).
template <int NR>
void pack_b(float* dst, const Operand& B, int64_t p0, int64_t kc, int64_t j0, int64_t nc) {
  for (int64_t js = 0; js < nc; js += NR) {
    int64_t cols = std::min<int64_t>(NR, nc - js);
    float* d = dst + js * kc;
    if (!B.trans) {  // op(B)(p, j) = b[p*ld + j]: rows are contiguous
      for (int64_t p = 0; p < kc; ++p) {
        const float* s = B.p + (p0 + p) * B.ld + j0 + js;
        int64_t c = 0;
        for (; c < cols; ++c) d[p * NR + c] = s[c];
        for (; c < NR; ++c) d[p * NR + c] = 0.0f;
      }
    } else if (cols == NR) {
      // As in pack_a: one sequential write per k step, NR sequential read streams.
      const float* s = B.p + (j0 + js) * B.ld + p0;
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t c = 0; c < NR; ++c) d[p * NR + c] = s[c * B.ld + p];
    } else {
      for (int64_t c = 0; c < NR; ++c) {
        if (c < cols) {
          const float* s = B.p + (j0 + js + c) * B.ld + p0;
          for (int64_t p = 0; p < kc; ++p) d[p * NR + c] = s[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) d[p * NR + c] = 0.0f;
        }
      }
    }
  }
}

// acc (MR, NR) = sum_p a[p, :]^T b[p, :] over packed slivers.
using MicroKernel = void (*)(float* acc, const float* a, const float* b, int64_t kc);

void micro_generic(float* acc, const float* a, const float* b, int64_t kc) {
  constexpr int MR = 6, NR = 16;
  float c[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float* bp = b + p * NR;
    for (int r = 0; r < MR; ++r) {
      float ar = a[p * MR + r];
      for (int j = 0; j < NR; ++j) c[r][j] += ar * bp[j];
    }
  }
  std::memcpy(acc, c, sizeof c);
}

#ifdef LMT_X86
__attribute__((target("avx2,fma"))) void micro_avx2(float* acc, const float* a,
                                                      const float* b, int64_t kc) {
  constexpr int MR = 6, NR = 16;
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    a += MR;
    b += NR;
  }
  _mm256_storeu_ps(acc + 0 * NR, c00); _mm256_storeu_ps(acc + 0 * NR + 8, c01);
  _mm256_storeu_ps(acc + 1 * NR, c10); _mm256_storeu_ps(acc + 1 * NR + 8, c11);
  _mm256_storeu_ps(acc + 2 * NR, c20); _mm256_storeu_ps(acc + 2 * NR + 8, c21);
  _mm256_storeu_ps(acc + 3 * NR, c30); _mm256_storeu_ps(acc + 3 * NR + 8, c31);
  _mm256_storeu_ps(acc + 4 * NR, c40); _mm256_storeu_ps(acc + 4 * NR + 8, c41);
  _mm256_storeu_ps(acc + 5 * NR, c50); _mm256_storeu_ps(acc + 5 * NR + 8, c51);
}

// The 12 x 32 AVX-512 product, written straight into C from the registers with store_tile's
// arithmetic (separate multiply and add, no FMA), so an element's value does not depend on
// which path wrote it. Full tiles use it directly, saving the round trip through `acc`.
__attribute__((target("avx512f"), optimize("fp-contract=off"))) void micro_avx512_c(float* cp, int64_t ldc, const float* a,
                                                        const float* b, int64_t kc, float alpha,
                                                        float beta, bool first) {
  constexpr int MR = 12, NR = 32;
  __m512 c[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 x = _mm512_set1_ps(a[r]);
      c[r][0] = _mm512_fmadd_ps(x, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(x, b1, c[r][1]);
    }
    a += MR;
    b += NR;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    float* cr = cp + r * ldc;
    for (int h = 0; h < 2; ++h) {
      __m512 v = _mm512_mul_ps(va, c[r][h]);
      if (!first) v = _mm512_add_ps(_mm512_loadu_ps(cr + 16 * h), v);
      else if (beta != 0.0f) v = _mm512_add_ps(v, _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16 * h)));
      _mm512_storeu_ps(cr + 16 * h, v);
    }
  }
}

// Edge tiles: the product into `acc` (alpha 1, beta 0: the stores are exact copies), from
// where store_tile writes the valid part.
__attribute__((target("avx512f"))) void micro_avx512(float* acc, const float* a, const float* b,
                                                      int64_t kc) {
  micro_avx512_c(acc, 32, a, b, kc, 1.0f, 0.0f, true);
}
#endif

using MicroKernelC = void (*)(float* c, int64_t ldc, const float* a, const float* b, int64_t kc,
                              float alpha, float beta, bool first);

struct Kernel {
  MicroKernel fn;
  int mr, nr;
  MicroKernelC full = nullptr;  // optional: full tiles straight into C
};

Kernel pick_kernel() {
#ifdef LMT_X86
  if (!std::getenv("LMT_NO_AVX512") && __builtin_cpu_supports("avx512f")) return {micro_avx512, 12, 32, micro_avx512_c};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {micro_avx2, 6, 16};
#endif
  return {micro_generic, 6, 16};
}

// Writes an (m, n) <= (MR, NR) tile: the first K block applies beta, later ones add.
template <int NR>
inline void store_tile(float* c, int64_t ldc, const float* acc, int m, int n, float alpha,
                       float beta, bool first) {
  for (int r = 0; r < m; ++r) {
    float* cr = c + r * ldc;
    const float* ar = acc + r * NR;
    if (!first) {
      for (int j = 0; j < n; ++j) cr[j] += alpha * ar[j];
    } else if (beta == 0.0f) {
      for (int j = 0; j < n; ++j) cr[j] = alpha * ar[j];
    } else {
      for (int j = 0; j < n; ++j) cr[j] = alpha * ar[j] + beta * cr[j];
    }
  }
}

// C (M, N) with ldc: C = beta * C, where beta == 0 writes zeros without reading.
void scale_c(float* c, int64_t ldc, int64_t m0, int64_t m1, int64_t N, float beta) {
  for (int64_t i = m0; i < m1; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) ci[j] = 0.0f;
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) ci[j] *= beta;
    }
  }
}

// One task: rows [m0, m1) x cols [n0, n1) of C_b, all of K.
template <int MR, int NR>
void gemm_block(MicroKernel kern, MicroKernelC full, float* c, int64_t ldc, const Operand& A, const Operand& B,
                int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, float alpha,
                float beta, std::vector<float>& abuf, std::vector<float>& bbuf) {
  alignas(64) float acc[MR * NR];
  for (int64_t jc = n0; jc < n1; jc += NC) {
    int64_t nc = std::min(NC, n1 - jc);
    int64_t nc_pad = (nc + NR - 1) / NR * NR;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = std::min(KC, K - pc);
      bbuf.resize((size_t)(nc_pad * kc));
      pack_b<NR>(bbuf.data(), B, pc, kc, jc, nc);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        int64_t mc = std::min(MC, m1 - ic);
        int64_t mc_pad = (mc + MR - 1) / MR * MR;
        abuf.resize((size_t)(mc_pad * kc));
        pack_a<MR>(abuf.data(), A, ic, mc, pc, kc);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          int m = (int)std::min<int64_t>(MR, mc - ir);
          for (int64_t jr = 0; jr < nc; jr += NR) {
            int n = (int)std::min<int64_t>(NR, nc - jr);
            float* ct = c + (ic + ir) * ldc + jc + jr;
            if (full && m == MR && n == NR) {
              full(ct, ldc, abuf.data() + ir * kc, bbuf.data() + jr * kc, kc, alpha, beta, pc == 0);
            } else {
              kern(acc, abuf.data() + ir * kc, bbuf.data() + jr * kc, kc);
              store_tile<NR>(ct, ldc, acc, m, n, alpha, beta, pc == 0);
            }
          }
        }
      }
    }
  }
}

}  // namespace

extern "C" lmt_status lmt_matmul(float* c, const float* a, const float* b, int64_t batch,
                                 int64_t M, int64_t N, int64_t K, int trans_a, int trans_b,
                                 int64_t lda, int64_t ldb, int64_t ldc, int64_t sa, int64_t sb,
                                 int64_t sc, float alpha, float beta) {
  bool need_ab = false;
  LMT_CHECK(lmt::check_matmul(__func__, c, a, b, batch, M, N, K, trans_a, trans_b, lda, ldb, ldc, sa,
                              sb, sc, alpha, &need_ab));
  if (batch == 0 || M == 0 || N == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  if (!need_ab) {  // C = beta * C
    lmt::parallel_for(batch * M, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        scale_c(c + (r / M) * sc, ldc, r % M, r % M + 1, N, beta);
    });
    return LMT_OK;
  }
  static const Kernel kern = pick_kernel();
  const int64_t MR = kern.mr, NR = kern.nr;
  // Split each C_b into tiles so that there are a few tasks per thread; tiles are multiples
  // of the micro-tile so splitting never changes what any one element computes.
  int64_t nt = lmt::num_threads();
  int64_t want = std::max<int64_t>(1, (4 * nt + batch - 1) / batch);
  int64_t flops = M * N * K;
  if (flops < (int64_t)1 << 18) want = 1;  // too small to be worth splitting
  int64_t mt = std::min<int64_t>((M + MC - 1) / MC, want);
  int64_t ntiles = std::max<int64_t>(1, want / mt);
  ntiles = std::min<int64_t>(ntiles, (N + 127) / 128);
  int64_t mstep = ((M + mt - 1) / mt + MR - 1) / MR * MR;
  int64_t nstep = ((N + ntiles - 1) / ntiles + NR - 1) / NR * NR;
  mt = (M + mstep - 1) / mstep;
  ntiles = (N + nstep - 1) / nstep;
  int64_t tasks = batch * mt * ntiles;
  lmt::parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    // Packing buffers live as long as the thread: small products pay no allocation.
    thread_local std::vector<float> abuf, bbuf;
    for (int64_t t = t0; t < t1; ++t) {
      int64_t bi = t / (mt * ntiles), rem = t % (mt * ntiles);
      int64_t i0 = (rem / ntiles) * mstep, j0 = (rem % ntiles) * nstep;
      Operand A{a + bi * sa, lda, trans_a != 0};
      Operand B{b + bi * sb, ldb, trans_b != 0};
      auto block = kern.mr == 12 ? gemm_block<12, 32> : gemm_block<6, 16>;
      block(kern.fn, kern.full, c + bi * sc, ldc, A, B, i0, std::min(M, i0 + mstep), j0,
            std::min(N, j0 + nstep), K, alpha, beta, abuf, bbuf);
    }
  });
  return LMT_OK;
  LMT_GUARD_END
}
