// Shared by the two CUDA attention implementations: attention.cu (fp32, SIMT: the default,
// matching the CPU within fp32 rounding) and attention_mma.cu (bf16 tensor cores, taken when
// the matmul precision is BF16): the argument block, the score of one (query, key) pair and
// the probability recomputed from the saved log-sum-exp.
#pragma once
#include "common.cuh"

namespace lmt {
namespace cuda {
namespace attn {

struct AttnArgs {
  float *out, *lse, *dq, *dk, *dv, *dbias, *Dbuf;
  const float *dout, *q, *k, *v, *o, *lse_in, *bias, *key_mask;
  int64_t B, NH, Tq, Tk, HS, bias_B;
  int causal;
  float scale;
};

// Score of (query i, key j) of head (b, h) from the raw dot product.
__device__ __forceinline__ float finish_score(const AttnArgs& A, float dot, int64_t b, int64_t h, int64_t i,
                                             int64_t j) {
  float s = dot * A.scale;
  if (A.bias) s += A.bias[(((A.bias_B == 1 ? 0 : b) * A.NH + h) * A.Tq + i) * A.Tk + j];
  if (A.key_mask) s += A.key_mask[b * A.Tk + j];
  return s;
}

__device__ __forceinline__ float prob(float s, float lse) {
  return (lse == -INFINITY || s == -INFINITY) ? 0.f : expf(s - lse);
}

// The tensor-core kernels (attention_mma.cu) take head sizes 1..mma_max_head, need compute
// capability 8.0+ and up to about 103 KiB of shared memory per block (D = 128 backward: more
// than sm_86/sm_89 allow, where those calls keep the SIMT kernels); mma_usable checks all of
// it. The caller has validated the arguments; the backward expects dbias zeroed and
// Dbuf = rowdot(dout, out) computed.
constexpr int64_t mma_max_head = 128;
bool mma_usable(int64_t HS, bool backward);
lmt_status forward_mma(const AttnArgs& A, const char* fn);
lmt_status backward_mma(const AttnArgs& A, const char* fn);

}  // namespace attn
}  // namespace cuda
}  // namespace lmt
