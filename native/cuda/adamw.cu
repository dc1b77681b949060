// AdamW (decoupled weight decay) over many tensors in one call, the global L2 norm of many
// tensors, and gradient clipping by that norm.
//
//   g = grad_scale * grad
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  mhat = m/(1-b1^step);  vhat = v/(1-b2^step)
//   p -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * decay[i] * p)
//
// Multi-tensor apply: the host arrays of device pointers are packed, up to kMaxTensors per
// launch, into a by-value kernel argument (under 2 KB, well inside the 4 KB limit) together
// with each tensor's first chunk of kChunk elements; blocks grid-stride over the chunks of
// the launch, so a model's ~150 tensors of very different sizes take a handful of balanced
// launches. Bias corrections are computed on the host in double, as on the CPU. The norm sums
// squares in double: per-thread, then per block, then one double atomicAdd per block into a
// device accumulator (the order of those block sums is not fixed, so the norm matches the
// CPU to rounding, not bitwise); the call copies it to the host and so waits for the stream.
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace {

constexpr int kMaxTensors = 32;
constexpr int64_t kChunk = 4096;  // elements per block per step of the chunk loop
constexpr int kThreads = 256;

// The non-empty tensors of one launch, by index into the caller's arrays.
struct Group {
  int idx[kMaxTensors];
  int64_t first[kMaxTensors + 1];  // first chunk of each tensor; first[count] = total chunks
  int count;
};

// Calls launch(group) for consecutive groups of up to kMaxTensors non-empty tensors.
template <class F>
lmt_status each_group(const int64_t* sizes, int count, F&& launch) {
  Group g;
  g.count = 0;
  g.first[0] = 0;
  for (int t = 0; t < count; ++t) {
    if (sizes[t] == 0) continue;
    g.idx[g.count] = t;
    g.first[g.count + 1] = g.first[g.count] + (sizes[t] + kChunk - 1) / kChunk;
    if (++g.count == kMaxTensors) {
      if (lmt_status s = launch(g)) return s;
      g.count = 0;
    }
  }
  return g.count ? launch(g) : LMT_OK;
}

unsigned group_grid(const Group& g) {
  return (unsigned)std::min<int64_t>(g.first[g.count], (int64_t)lmt::cuda::sm_count() * 16);
}

// Kernel arguments (by value). first[] as in Group.
struct AdamWList {
  float* p[kMaxTensors];
  float* m[kMaxTensors];
  float* v[kMaxTensors];
  const float* g[kMaxTensors];
  int64_t n[kMaxTensors];
  int64_t first[kMaxTensors + 1];
  float wd[kMaxTensors];
  int count;
};
struct TensorList {
  float* x[kMaxTensors];
  int64_t n[kMaxTensors];
  int64_t first[kMaxTensors + 1];
  int count;
};
struct Coef {
  float grad_scale, beta1, beta2, a1, a2, inv_bc1, inv_bc2, lr, eps;
};

// The tensor that owns chunk c (first[] is nondecreasing; every listed tensor is non-empty).
__device__ __forceinline__ int owner(const int64_t* first, int count, int64_t c) {
  int t = 0;
  while (t + 1 < count && c >= first[t + 1]) ++t;
  return t;
}

// Chunk ch of a launch: tensor t, elements [begin, end) of it.
struct Chunk {
  int t;
  int64_t begin, end;
};
template <class List>
__device__ __forceinline__ Chunk chunk(const List& L, int64_t ch) {
  const int t = owner(L.first, L.count, ch);
  const int64_t begin = (ch - L.first[t]) * kChunk;
  return Chunk{t, begin, begin + kChunk < L.n[t] ? begin + kChunk : L.n[t]};
}

__global__ void __launch_bounds__(kThreads) adamw_kernel(const AdamWList L, const Coef c) {
  const int64_t chunks = L.first[L.count];
  for (int64_t ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
    const Chunk k = chunk(L, ch);
    float* __restrict__ p = L.p[k.t];
    float* __restrict__ m = L.m[k.t];
    float* __restrict__ v = L.v[k.t];
    const float* __restrict__ g = L.g[k.t];
    const float wd = L.wd[k.t];
    for (int64_t i = k.begin + threadIdx.x; i < k.end; i += blockDim.x) {
      const float gi = c.grad_scale * g[i];
      const float mi = c.beta1 * m[i] + c.a1 * gi;
      const float vi = c.beta2 * v[i] + c.a2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      const float mhat = mi * c.inv_bc1, vhat = vi * c.inv_bc2;
      const float pi = p[i];
      p[i] = pi - c.lr * (mhat / (sqrtf(vhat) + c.eps) + wd * pi);
    }
  }
}

__global__ void __launch_bounds__(kThreads) sum_squares_kernel(const TensorList L, double* acc) {
  __shared__ double shd[32];
  const int64_t chunks = L.first[L.count];
  double s = 0.0;
  for (int64_t ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
    const Chunk k = chunk(L, ch);
    const float* __restrict__ x = L.x[k.t];
    for (int64_t i = k.begin + threadIdx.x; i < k.end; i += blockDim.x)
      s += (double)x[i] * (double)x[i];
  }
  s = lmt::cuda::block_sum(s, shd);
  if (threadIdx.x == 0) atomicAdd(acc, s);
}

__global__ void __launch_bounds__(kThreads) scale_kernel(const TensorList L, float scale) {
  const int64_t chunks = L.first[L.count];
  for (int64_t ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
    const Chunk k = chunk(L, ch);
    float* __restrict__ x = L.x[k.t];
    for (int64_t i = k.begin + threadIdx.x; i < k.end; i += blockDim.x) x[i] *= scale;
  }
}

TensorList tensor_list(const Group& g, float* const* tensors, const int64_t* sizes) {
  TensorList L;
  L.count = g.count;
  for (int k = 0; k <= g.count; ++k) L.first[k] = g.first[k];
  for (int k = 0; k < g.count; ++k) {
    L.x[k] = tensors[g.idx[k]];
    L.n[k] = sizes[g.idx[k]];
  }
  return L;
}

// The L2 norm of the tensors into *out (host); waits for the stream.
lmt_status global_norm(const char* fn, double* out, const float* const* tensors,
                       const int64_t* sizes, int count) {
  bool any = false;
  for (int t = 0; t < count; ++t) any = any || sizes[t] > 0;
  if (!any) {
    *out = 0.0;
    return LMT_OK;
  }
  cudaStream_t st = lmt::cuda::stream();
  double* acc = nullptr;
  if (lmt_status s = lmt_cuda_malloc((void**)&acc, sizeof(double))) return s;
  lmt_status s = lmt::cuda::check(cudaMemsetAsync(acc, 0, sizeof(double), st), fn, "cudaMemsetAsync");
  if (s == LMT_OK) {
    // The kernels only read the tensors; TensorList holds non-const pointers for scale_kernel.
    s = each_group(sizes, count, [&](const Group& g) {
      sum_squares_kernel<<<group_grid(g), kThreads, 0, st>>>(
          tensor_list(g, const_cast<float* const*>(tensors), sizes), acc);
      return lmt::cuda::launched(fn);
    });
  }
  double sum = 0.0;
  if (s == LMT_OK) s = lmt_cuda_memcpy_d2h(&sum, acc, sizeof(double));
  lmt_cuda_free(acc, sizeof(double));
  if (s == LMT_OK) *out = std::sqrt(sum);
  return s;
}

}  // namespace

extern "C" lmt_status lmt_cuda_adamw_step(float* const* params, float* const* m, float* const* v,
                                          const float* const* grads, const int64_t* sizes,
                                          const uint8_t* decay, int count, float lr, float beta1,
                                          float beta2, float eps, float weight_decay,
                                          int64_t step, float grad_scale) {
  LMT_CHECK(lmt::check_adamw_step(__func__, params, m, v, grads, sizes, decay, count, lr, beta1,
                                  beta2, eps, weight_decay, step, grad_scale));
  if (count == 0) return LMT_OK;
  LMT_GUARD_BEGIN
  // Bias corrections in double: b2^step for b2 = 0.999 needs the precision at large steps.
  Coef c;
  c.grad_scale = grad_scale;
  c.beta1 = beta1;
  c.beta2 = beta2;
  c.a1 = 1.0f - beta1;
  c.a2 = 1.0f - beta2;
  c.inv_bc1 = (float)(1.0 / (1.0 - std::pow((double)beta1, (double)step)));
  c.inv_bc2 = (float)(1.0 / (1.0 - std::pow((double)beta2, (double)step)));
  c.lr = lr;
  c.eps = eps;
  cudaStream_t stream = lmt::cuda::stream();
  return each_group(sizes, count, [&](const Group& g) {
    AdamWList L;
    L.count = g.count;
    for (int k = 0; k <= g.count; ++k) L.first[k] = g.first[k];
    for (int k = 0; k < g.count; ++k) {
      const int t = g.idx[k];
      L.p[k] = params[t];
      L.m[k] = m[t];
      L.v[k] = v[t];
      L.g[k] = grads[t];
      L.n[k] = sizes[t];
      L.wd[k] = decay[t] ? weight_decay : 0.0f;
    }
    adamw_kernel<<<group_grid(g), kThreads, 0, stream>>>(L, c);
    return lmt::cuda::launched("lmt_cuda_adamw_step");
  });
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_global_norm(double* norm, const float* const* tensors,
                                           const int64_t* sizes, int count) {
  LMT_CHECK(lmt::check_global_norm(__func__, norm, tensors, sizes, count));
  LMT_GUARD_BEGIN
  return global_norm(__func__, norm, tensors, sizes, count);
  LMT_GUARD_END
}

extern "C" lmt_status lmt_cuda_clip_grad_norm(double* norm, float* const* tensors,
                                              const int64_t* sizes, int count, float max_norm) {
  LMT_CHECK(lmt::check_clip_grad_norm(__func__, norm, tensors, sizes, count, max_norm));
  LMT_GUARD_BEGIN
  double total = 0.0;
  LMT_CHECK(global_norm(__func__, &total, tensors, sizes, count));
  *norm = total;
  // A NaN/Inf norm means an overflowed or poisoned step: scaling would spread the damage
  // to every element, so leave the tensors for the caller (e.g. to skip the step).
  if (!std::isfinite(total) || total <= (double)max_norm) return LMT_OK;
  const float scale = (float)((double)max_norm / (total + 1e-6));
  cudaStream_t stream = lmt::cuda::stream();
  return each_group(sizes, count, [&](const Group& g) {
    scale_kernel<<<group_grid(g), kThreads, 0, stream>>>(tensor_list(g, tensors, sizes), scale);
    return lmt::cuda::launched("lmt_cuda_clip_grad_norm");
  });
  LMT_GUARD_END
}
