// A small fork-join pool for CPU kernels. Work is split into chunks claimed through an
// atomic counter, so uneven chunks balance themselves; the caller works too, which makes a
// 1-thread pool exactly a plain loop.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "core.h"

namespace lmt {
namespace {

int default_threads() {
  if (const char* env = std::getenv("LMT_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1 && n <= 1024) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : (int)hw;
}

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop_workers(); }

  int size() const { return nthreads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> run(run_mu_);
    stop_workers();
    nthreads_ = std::max(1, n);
    stopping_ = false;
    // Workers start from the generation current now, not when they first run: a late
    // starter would otherwise skip the first job and the caller would wait forever.
    uint64_t gen = generation_;
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back([this, gen] { worker_loop(gen); });
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    int64_t max_chunks = (n + grain - 1) / grain;
    // Serial when there is one thread, one chunk, or when called from inside a job.
    if (nthreads_ == 1 || max_chunks == 1 || in_job_) {
      fn(0, n);
      return;
    }
    std::unique_lock<std::mutex> run(run_mu_, std::try_to_lock);
    if (!run.owns_lock()) {  // another thread of the host program owns the pool
      fn(0, n);
      return;
    }
    int64_t chunks = std::min<int64_t>(max_chunks, (int64_t)nthreads_ * 4);
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_ = n;
      chunk_ = (n + chunks - 1) / chunks;
      next_.store(0);
      pending_ = nthreads_ - 1;
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return pending_ == 0; });
    fn_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  void work() {
    in_job_ = true;
    for (;;) {
      int64_t begin = next_.fetch_add(chunk_);
      if (begin >= n_) break;
      int64_t end = std::min(n_, begin + chunk_);
      try {
        (*fn_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
      }
    }
    in_job_ = false;
  }

  void worker_loop(uint64_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      work();
      std::lock_guard<std::mutex> lk(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // one parallel region at a time
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  static thread_local bool in_job_;
};
thread_local bool Pool::in_job_ = false;

Pool& pool() {
  static Pool* p = new Pool(default_threads());  // leaked on purpose: no exit-time join
  return *p;
}

}  // namespace

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  pool().run(n, grain, fn);
}
int num_threads() { return pool().size(); }

}  // namespace lmt

extern "C" int lmt_get_num_threads(void) { return lmt::num_threads(); }

extern "C" lmt_status lmt_set_num_threads(int n) {
  if (n < 1 || n > 1024) return lmt_fail(LMT_ERR_INVALID_ARG, "lmt_set_num_threads: n must be in [1, 1024], got %d", n);
  LMT_GUARD_BEGIN
  lmt::pool().resize(n);
  return LMT_OK;
  LMT_GUARD_END
}
