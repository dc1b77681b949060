// The core: thread pool coverage and determinism, error state, allocator reuse.
#include <atomic>
#include <cstring>
#include <vector>

#include "core.h"
#include "test_util.h"

int main() {
  for (int threads : {1, 2, 3}) {
    lt::expect_status("set_num_threads(" + std::to_string(threads) + ")", lmt_set_num_threads(threads), LMT_OK);
    for (int64_t n : {0, 1, 7, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(n);
      for (auto& h : hits) h.store(0);
      lmt::parallel_for(n, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      });
      bool once = true;
      for (auto& h : hits) once = once && h.load() == 1;
      lt::expect("parallel_for covers each index once, n=" + std::to_string(n) + " threads=" + std::to_string(threads), once);
    }
    // Nested regions run serially instead of deadlocking.
    std::atomic<int64_t> total{0};
    lmt::parallel_for(8, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        lmt::parallel_for(10, 1, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
    });
    lt::expect("nested parallel_for", total.load() == 80);
  }
  lt::expect_status("set_num_threads(0) rejected", lmt_set_num_threads(0), LMT_ERR_INVALID_ARG);
  lt::expect("error message names the argument", std::strstr(lmt_last_error(), "n must be") != nullptr);
  lmt_set_num_threads(2);

  void* a = nullptr;
  lt::expect_status("host_alloc", lmt_host_alloc(&a, 1000), LMT_OK);
  lt::expect("aligned to 64", ((uintptr_t)a % 64) == 0);
  lmt_host_free(a, 1000);
  void* b = nullptr;
  lmt_host_alloc(&b, 1000);
  lt::expect("cache reuses a freed block of the same size", a == b);
  lmt_host_free(b, 1000);
  lmt_host_flush_cache();
  lt::expect("flush empties the cache", lmt_host_cached_bytes() == 0);
  lt::expect_status("host_alloc(null out)", lmt_host_alloc(nullptr, 8), LMT_ERR_INVALID_ARG);
  void* huge = nullptr;
  lt::expect_status("host_alloc(2^62 bytes) is OOM, not a crash", lmt_host_alloc(&huge, (size_t)1 << 62), LMT_ERR_OOM);

  // Philox: fixed known-answer for key 0, counter 0 (Random123 kat_vectors, philox4x32_10).
  lmt::Philox4 r = lmt::philox4x32(0, 0, 0);
  lt::expect("philox4x32-10 known answer", r.v[0] == 0x6627e8d5u && r.v[1] == 0xe169c58du &&
                                               r.v[2] == 0xbc57ac4cu && r.v[3] == 0x9b00dbd8u);
  return lt::finish();
}
