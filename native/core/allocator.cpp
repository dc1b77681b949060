// Host allocator: 64-byte aligned blocks with a size-bucketed cache, so that the many
// same-sized activations of a training step are reused instead of going back to malloc.
// On failure it flushes the cache and retries once before reporting out-of-memory.
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "core.h"

namespace {
std::mutex g_mu;
std::multimap<size_t, void*>* g_cache = new std::multimap<size_t, void*>();  // never destroyed
size_t g_cached = 0;
constexpr size_t kMaxCached = (size_t)1 << 30;  // keep at most 1 GiB idle

size_t round_up(size_t b) { return ((b + 63) / 64) * 64; }

void flush_locked() {
  for (auto& kv : *g_cache) std::free(kv.second);
  g_cache->clear();
  g_cached = 0;
}
}  // namespace

extern "C" lmt_status lmt_host_alloc(void** out, size_t bytes) {
  if (!out) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_host_alloc: out is null");
  size_t sz = round_up(bytes == 0 ? 64 : bytes);
  if (sz < bytes) return lmt_fail(LMT_ERR_OOM, "lmt_host_alloc: %zu bytes overflows", bytes);
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_cache->find(sz);
  if (it != g_cache->end()) {
    *out = it->second;
    g_cache->erase(it);
    g_cached -= sz;
    return LMT_OK;
  }
  void* p = std::aligned_alloc(64, sz);
  if (!p) {
    flush_locked();
    p = std::aligned_alloc(64, sz);
  }
  if (!p) {
    *out = nullptr;
    return lmt_fail(LMT_ERR_OOM, "out of host memory allocating %zu bytes", bytes);
  }
  *out = p;
  return LMT_OK;
}

extern "C" void lmt_host_free(void* p, size_t bytes) {
  if (!p) return;
  size_t sz = round_up(bytes == 0 ? 64 : bytes);
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_cached + sz > kMaxCached) {
    std::free(p);
    return;
  }
  g_cache->emplace(sz, p);
  g_cached += sz;
}

extern "C" size_t lmt_host_cached_bytes(void) {
  std::lock_guard<std::mutex> lk(g_mu);
  return g_cached;
}

extern "C" void lmt_host_flush_cache(void) {
  std::lock_guard<std::mutex> lk(g_mu);
  flush_locked();
}
