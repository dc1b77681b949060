// CPU emulation of the warp-level PTX in native/cuda/mma.cuh (see cuda_runtime.h): cp.async is
// a 16-byte copy (zero-filled when invalid) made at the cp_wait that covers it; ldmatrix and mma.sync gather the
// warp's addresses or fragments through the block's exchange buffer and compute what the PTX
// ISA specifies for each lane (m8n8 .b16 matrices; m16n8k16 row.col bf16 with fp32
// accumulation), so the kernel's fragment bookkeeping is checked exactly.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

namespace {

// cp.async: queued, and carried out at the cp_wait that covers its group (cuda_runtime.h).
inline void cp_async16(void* smem, const void* gmem, bool valid) {
  emu::g_async[threadIdx.x].copies.push_back({smem, gmem, valid});
}
inline void cp_commit() {
  emu::Async& q = emu::g_async[threadIdx.x];
  emu::commit(q.copies, q.copy_groups);
}
template <int N>
inline void cp_wait() {
  emu::drain(emu::g_async[threadIdx.x].copy_groups, N, emu::do_copy);
}

inline float emu_bf(uint32_t reg, int half) {
  uint32_t u = (half ? (reg >> 16) : (reg & 0xffffu)) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Four 8x8 b16 matrices; lanes 8j..8j+7 give the row addresses of matrix j. Without .trans a
// lane receives row lane/4, columns 2(lane%4) and +1 of each matrix; with .trans the matrix is
// transposed first (rows 2(lane%4) and +1, column lane/4).
inline void emu_ldsm(unsigned (&r)[4], const void* p, bool trans) {
  uint64_t w = (uint64_t)(uintptr_t)p;
  uint64_t* b = emu_exchange(&w, 1);
  const unsigned lane = threadIdx.x & 31, base = threadIdx.x & ~31u;
  for (int j = 0; j < 4; ++j) {
    const uint16_t* r0;
    const uint16_t* r1;
    uint16_t lo, hi;
    if (!trans) {
      r0 = (const uint16_t*)(uintptr_t)b[(base + j * 8 + lane / 4) * 8];
      lo = r0[2 * (lane % 4)];
      hi = r0[2 * (lane % 4) + 1];
    } else {
      r0 = (const uint16_t*)(uintptr_t)b[(base + j * 8 + 2 * (lane % 4)) * 8];
      r1 = (const uint16_t*)(uintptr_t)b[(base + j * 8 + 2 * (lane % 4) + 1) * 8];
      lo = r0[lane / 4];
      hi = r1[lane / 4];
    }
    r[j] = (uint32_t)lo | ((uint32_t)hi << 16);
  }
}
inline void ldsm_x4(unsigned (&r)[4], const void* p) { emu_ldsm(r, p, false); }
inline void ldsm_x4_t(unsigned (&r)[4], const void* p) { emu_ldsm(r, p, true); }

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, per the PTX ISA fragment layouts
// (g = lane/4, t = lane%4): a0 (g, 2t..2t+1), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..);
// b0 (k 2t..2t+1, n g), b1 (k 2t+8.., n g); c0 c1 (g, 2t and 2t+1), c2 c3 (g+8, ...).
inline void mma_bf16(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  uint64_t w[6] = {a[0], a[1], a[2], a[3], b0, b1};
  uint64_t* b = emu_exchange(w, 6);
  const unsigned lane = threadIdx.x & 31, base = threadIdx.x & ~31u;
  auto A = [&](int row, int k) {
    unsigned src = base + (row % 8) * 4 + (k % 8) / 2;
    int reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
    return emu_bf((uint32_t)b[src * 8 + reg], k % 2);
  };
  auto B = [&](int k, int n) {
    unsigned src = base + n * 4 + (k % 8) / 2;
    int reg = 4 + (k >= 8 ? 1 : 0);
    return emu_bf((uint32_t)b[src * 8 + reg], k % 2);
  };
  const int g = lane / 4, t = lane % 4;
  for (int e = 0; e < 4; ++e) {
    int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e % 2);
    float acc = d[e];
    for (int k = 0; k < 16; ++k) acc += A(row, k) * B(k, col);
    d[e] = acc;
  }
}

// cvt.rna.tf32.f32: keep 10 mantissa bits, rounding to nearest with ties away from zero.
inline unsigned to_tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u += 0x1000u;  // finite: add half an ulp of tf32
  return u & 0xffffe000u;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 (g = lane/4, t = lane%4): a0 (g, t),
// a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); b0 (k t, n g), b1 (k t+4, n g); c as for bf16.
inline void mma_tf32(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  uint64_t w[6] = {a[0], a[1], a[2], a[3], b0, b1};
  uint64_t* b = emu_exchange(w, 6);
  const unsigned lane = threadIdx.x & 31, base = threadIdx.x & ~31u;
  auto f = [](uint64_t v) {
    uint32_t u = (uint32_t)v & 0xffffe000u;  // the hardware reads 19 bits
    float x;
    std::memcpy(&x, &u, 4);
    return x;
  };
  auto A = [&](int row, int k) { return f(b[(base + (row % 8) * 4 + k % 4) * 8 + (row >= 8 ? 1 : 0) + (k >= 4 ? 2 : 0)]); };
  auto B = [&](int k, int n) { return f(b[(base + n * 4 + k % 4) * 8 + 4 + (k >= 4 ? 1 : 0)]); };
  const int g = lane / 4, t = lane % 4;
  for (int e = 0; e < 4; ++e) {
    int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e % 2);
    float acc = d[e];
    for (int k = 0; k < 8; ++k) acc += A(row, k) * B(k, col);
    d[e] = acc;
  }
}

// ex2.approx.ftz: exp2 with results below the smallest normal float flushed to 0.
inline float fast_exp2(float x) {
  const float y = std::exp2(x);
  return y < FLT_MIN ? 0.f : y;
}

// sm_90a wgmma (native/cuda/mma.cuh): m64n128k16 with both operands K-major in
// 128-byte-swizzled shared memory: element (r, k) of a tile starting at a 1024-byte boundary
// is read from start + 32 kstep + (r / 8) 1024 + (r % 8) 128 + 2 k, with address bits 4-6
// XORed with bits 7-9.
// The products are asynchronous as on the hardware, and as late as the PTX ISA allows: a call
// only queues its operands' addresses; commit closes the group; wait_group<N> computes the
// oldest groups until N remain, reading shared memory then (cuda_runtime.h, emu::Async). A
// kernel that overwrites a stage a pending group still reads, or reads the accumulators before
// the wait, gets wrong numbers here as it could on a GPU.
inline bool have_wgmma() { return true; }
inline void wgmma_fence() {}
inline void wgmma_hold(float (&)[64]) {}
inline void fence_proxy_async() {}
inline float emu_sw128(const void* tile, int kstep, int r, int k) {
  uintptr_t a = (uintptr_t)tile + (uintptr_t)(32 * kstep + (r / 8) * 1024 + (r % 8) * 128 + 2 * k);
  a ^= ((a >> 7) & 7u) << 4;
  uint16_t h;
  std::memcpy(&h, (const void*)a, 2);
  return emu_bf((uint32_t)h, 0);
}
inline void emu_wgmma_run(const emu::AsyncMma& w) {
  const unsigned lane = threadIdx.x & 31u, warp = (threadIdx.x & 127u) / 32;
  const int g = lane / 4, t = lane % 4;
  for (int j = 0; j < 16; ++j)
    for (int e = 0; e < 4; ++e) {
      const int row = 16 * warp + g + 8 * (e >> 1), col = 8 * j + 2 * t + (e & 1);
      float acc = w.d[4 * j + e];
      for (int k = 0; k < 16; ++k) acc += emu_sw128(w.a, w.kstep, row, k) * emu_sw128(w.b, w.kstep, col, k);
      w.d[4 * j + e] = acc;
    }
}
inline void wgmma_m64n128(float (&d)[64], const void* a, const void* b, int kstep) {
  if (((uintptr_t)a | (uintptr_t)b) & 1023u) {
    std::fprintf(stderr, "EMU: wgmma operand tile not 1024-byte aligned\n");
    std::abort();
  }
  emu::g_async[threadIdx.x].mmas.push_back({d, a, b, kstep});
}
inline void wgmma_commit() {
  emu::Async& q = emu::g_async[threadIdx.x];
  emu::commit(q.mmas, q.mma_groups);
}
template <int N>
inline void wgmma_wait() {
  emu::Async& q = emu::g_async[threadIdx.x];
  if (!q.mmas.empty()) {
    std::fprintf(stderr, "EMU: wgmma_wait with uncommitted wgmma operations\n");
    std::abort();
  }
  emu::drain(q.mma_groups, N, emu_wgmma_run);
}

}  // namespace
