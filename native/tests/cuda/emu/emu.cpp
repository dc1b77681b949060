// The CUDA runtime side of the CPU emulation (replaces native/cuda/runtime.cu): host memory
// stands in for device memory, copies are memcpy, the stream is implicit, one "device".
#include <cstdio>
#include <cstdlib>
#include <ucontext.h>

#include <condition_variable>
#include <memory>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common.cuh"

namespace emu {
thread_local dim3 threadIdx_, blockIdx_;
dim3 blockDim_, gridDim_;
Block* g_block;
thread_local unsigned x_parity = 0;
std::atomic<long> g_launches{0};

#if defined(__SANITIZE_ADDRESS__)
namespace {
// A pool of persistent threads: launch n runs on workers 0..n-1; the rest sit the launch out.
struct Pool {
  std::mutex m;
  std::condition_variable start, done;
  std::vector<std::thread> workers;
  const std::function<void(unsigned)>* job = nullptr;
  unsigned active = 0, remaining = 0;
  uint64_t gen = 0;
  void work(unsigned i) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(m);
    for (;;) {
      start.wait(lk, [&] { return gen != seen; });
      seen = gen;
      if (i >= active) continue;
      const auto* f = job;
      lk.unlock();
      (*f)(i);
      lk.lock();
      if (--remaining == 0) done.notify_all();
    }
  }
};
// Never destroyed: the workers wait on it until the process exits.
Pool* g_pool = new Pool();
}  // namespace

void run_threads(unsigned nt, const std::function<void(unsigned)>& f) {
  Pool& p = *g_pool;
  std::unique_lock<std::mutex> lk(p.m);
  while (p.workers.size() < nt) {
    unsigned i = (unsigned)p.workers.size();
    p.workers.emplace_back([i] { g_pool->work(i); });
    p.workers.back().detach();
  }
  p.job = &f;
  p.active = nt;
  p.remaining = nt;
  ++p.gen;
  p.start.notify_all();
  p.done.wait(lk, [&] { return p.remaining == 0; });
}
void sync() { g_block->bar->arrive_and_wait(); }
#else
namespace {
constexpr size_t kStack = 256 * 1024;  // the kernels keep their register arrays here
struct Fiber {
  ucontext_t ctx;
  std::unique_ptr<char[]> stack;
  bool done = false;
  unsigned parity = 0;
};
std::vector<Fiber> g_fibers;
ucontext_t g_sched;
unsigned g_cur = 0;
const std::function<void(unsigned)>* g_job = nullptr;
void trampoline() {
  unsigned t = g_cur;
  (*g_job)(t);
  g_fibers[t].done = true;  // returning resumes g_sched (uc_link)
}
}  // namespace

void run_threads(unsigned nt, const std::function<void(unsigned)>& f) {
  if (g_fibers.size() < nt) g_fibers.resize(nt);
  g_job = &f;
  for (unsigned t = 0; t < nt; ++t) {
    Fiber& fb = g_fibers[t];
    if (!fb.stack) fb.stack.reset(new char[kStack]);
    getcontext(&fb.ctx);
    fb.ctx.uc_stack.ss_sp = fb.stack.get();
    fb.ctx.uc_stack.ss_size = kStack;
    fb.ctx.uc_link = &g_sched;
    makecontext(&fb.ctx, trampoline, 0);
    fb.done = false;
    fb.parity = 0;
  }
  // One round per barrier: every unfinished thread runs up to its next barrier (or its end).
  for (;;) {
    unsigned finished = 0;
    for (unsigned t = 0; t < nt; ++t) {
      Fiber& fb = g_fibers[t];
      if (fb.done) { ++finished; continue; }
      g_cur = t;
      threadIdx_ = dim3(t, 0, 0);
      x_parity = fb.parity;
      swapcontext(&g_sched, &fb.ctx);
      fb.parity = x_parity;
      if (fb.done) ++finished;
    }
    if (finished == nt) break;
    if (finished != 0) {
      std::fprintf(stderr, "EMU: %u of %u threads ended while the others wait at a barrier\n", finished, nt);
      std::abort();
    }
  }
}
void sync() { swapcontext(&g_fibers[g_cur].ctx, &g_sched); }
#endif
}  // namespace emu

namespace {
int g_flag = 0;
int g_precision = LMT_PREC_FP32;
}  // namespace

namespace lmt {
namespace cuda {
cudaStream_t stream() { return nullptr; }
lmt_status check(cudaError_t e, const char* fn, const char* what) {
  return e == cudaSuccess ? LMT_OK : lmt_fail(LMT_ERR_DEVICE, "%s: %s", fn, what);
}
lmt_status launched(const char*) { return LMT_OK; }
int* error_flag() { return &g_flag; }
lmt_status take_error_flag(const char* fn, const char* what) {
  if (g_flag) {
    g_flag = 0;
    return lmt_fail(LMT_ERR_INDEX, "%s: %s", fn, what);
  }
  return LMT_OK;
}
int sm_count() { return 4; }
}  // namespace cuda
}  // namespace lmt

extern "C" {
int lmt_cuda_compiled(void) { return 1; }
int lmt_cuda_device_count(const char** why) {
  if (why) *why = "";
  return 1;
}
int lmt_cuda_runtime_version(const char** archs) {
  if (archs) *archs = "emulated";
  return 0;
}
lmt_status lmt_cuda_device_info(int, lmt_cuda_device_facts* f) {
  std::memset(f, 0, sizeof *f);
  std::snprintf(f->name, sizeof f->name, "CPU emulation of CUDA (native/tests/cuda/emu)");
  f->major = 9;
  f->multiprocessors = 4;
  return LMT_OK;
}
lmt_status lmt_cuda_set_device(int d) { return d == 0 ? LMT_OK : lmt_fail(LMT_ERR_DEVICE, "emulation has one device"); }
lmt_status lmt_cuda_malloc(void** out, size_t bytes) {
  if (!out) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_malloc: out is null");
  // Garbage-filled like fresh device memory, so kernels that forget to write an output fail.
  *out = std::malloc(bytes ? bytes : 1);
  if (!*out) return lmt_fail(LMT_ERR_OOM, "lmt_cuda_malloc: out of memory");
  std::memset(*out, 0xA5, bytes);
  return LMT_OK;
}
void lmt_cuda_free(void* p, size_t) { std::free(p); }
size_t lmt_cuda_cached_bytes(void) { return 0; }
void lmt_cuda_flush_cache(void) {}
lmt_status lmt_cuda_memcpy_h2d(void* d, const void* s, size_t n) { if (n) std::memcpy(d, s, n); return LMT_OK; }
lmt_status lmt_cuda_memcpy_d2h(void* d, const void* s, size_t n) { if (n) std::memcpy(d, s, n); return LMT_OK; }
lmt_status lmt_cuda_memcpy_d2d(void* d, const void* s, size_t n) { if (n) std::memmove(d, s, n); return LMT_OK; }
lmt_status lmt_cuda_synchronize(void) { return LMT_OK; }
lmt_status lmt_cuda_set_matmul_precision(int p) {
  if (p != LMT_PREC_FP32 && p != LMT_PREC_BF16 && p != LMT_PREC_TF32)
    return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_cuda_set_matmul_precision: precision must be 0 (fp32), 1 (bf16) or 2 (tf32), got %d", p);
  g_precision = p;
  return LMT_OK;
}
int lmt_cuda_get_matmul_precision(void) { return g_precision; }
}
