// Reads and preprocesses samples ahead of the engines with a few loader threads, keeping a bounded window of
// samples in memory: the reading side of every pass over a dataset (runtime/evaluation.h, runtime/model_pass.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "qwac/dataset.h"

namespace qwac::runtime {

// Reads samples [0, n) ahead of the consumer with a few threads, keeping at most `window` samples in memory.
class SamplePrefetcher {
 public:
  SamplePrefetcher(const Dataset& dataset, int64_t n, int threads, int64_t window)
      : dataset_(dataset), n_(n), window_(window) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~SamplePrefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // Blocks until sample i is ready; rethrows the loader's error. Each sample is taken once; the window must cover
  // the samples the concurrent consumers are waiting for (see the caller).
  Sample take(int64_t i) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(i) || errors_.count(i); });
    if (errors_.count(i)) std::rethrow_exception(errors_.at(i));
    Sample s = std::move(ready_.at(i));
    ready_.erase(i);
    consumed_ = std::max(consumed_, i + 1);  // several streams take samples, not necessarily in order
    cv_.notify_all();
    return s;
  }

 private:
  void work() {
    for (;;) {
      int64_t i;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || (next_ < n_ && next_ < consumed_ + window_); });
        if (stop_) return;
        i = next_++;
      }
      try {
        Sample s = dataset_.get(i);
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.emplace(i, std::move(s));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        errors_.emplace(i, std::current_exception());
      }
      cv_.notify_all();
    }
  }

  const Dataset& dataset_;
  const int64_t n_, window_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<int64_t, Sample> ready_;
  std::map<int64_t, std::exception_ptr> errors_;
  int64_t next_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace qwac::runtime
