// The buffer pool: freed buffers are kept in lists by exact size and handed out again.
// Exact sizes (not size classes) because a training step repeats exactly the same shapes.
// One pool per thread: a data-parallel step (train/sliced_step.h) builds and frees each slice's
// graph on one thread, so every thread finds its own buffers again, still warm in its own core's
// cache, with no lock taken and no cache line passed between cores. A buffer freed on another
// thread than the one that made it simply joins the freeing thread's pool.
#include "autograd/buffer.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_map>
#include <vector>

namespace mind {
namespace {

constexpr size_t alignment = 64;  // one cache line; also an AVX-512 register
constexpr int64_t max_cached_floats = int64_t{1} << 30;  // 4 GiB a thread: beyond this, really free

std::atomic<int64_t> fresh_allocations{0};

struct Pool {
  std::unordered_map<int64_t, std::vector<float*>> free_lists;
  int64_t cached_floats = 0;

  void trim() {
    for (auto& [size, list] : free_lists)
      for (float* memory : list) std::free(memory);
    free_lists.clear();
    cached_floats = 0;
  }
};

// The thread's pool, made on first use. When the thread ends, the guard frees the cached memory
// and marks the pool gone: a buffer that dies later still (a static tensor at exit) is freed
// directly. Plain pointers and bools because they stay readable after thread-exit destructors.
thread_local Pool* thread_pool = nullptr;
thread_local bool thread_pool_gone = false;

struct PoolGuard {
  ~PoolGuard() {
    if (thread_pool != nullptr) thread_pool->trim();
    delete thread_pool;
    thread_pool = nullptr;
    thread_pool_gone = true;
  }
};

Pool* pool() {
  if (thread_pool == nullptr && !thread_pool_gone) {
    thread_local PoolGuard guard;  // registers the clean-up at thread exit
    thread_pool = new Pool();
  }
  return thread_pool;  // nullptr once the thread is being torn down
}

float* take(int64_t size) {
  if (Pool* p = pool()) {
    auto found = p->free_lists.find(size);
    if (found != p->free_lists.end() && !found->second.empty()) {
      float* memory = found->second.back();
      found->second.pop_back();
      p->cached_floats -= size;
      return memory;
    }
  }
  fresh_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t bytes = (static_cast<size_t>(size) * sizeof(float) + alignment - 1) / alignment * alignment;
  void* memory = std::aligned_alloc(alignment, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  return static_cast<float*>(memory);
}

void give_back(float* memory, int64_t size) {
  Pool* p = pool();
  if (p == nullptr || p->cached_floats + size > max_cached_floats) {
    std::free(memory);
    return;
  }
  p->free_lists[size].push_back(memory);
  p->cached_floats += size;
}

}  // namespace

Buffer Buffer::uninitialized(int64_t size) {
  Buffer buffer;
  if (size > 0) {
    buffer.data_ = take(size);
    buffer.size_ = size;
  }
  return buffer;
}

Buffer Buffer::zeros(int64_t size) {
  Buffer buffer = uninitialized(size);
  if (size > 0) std::memset(buffer.data_, 0, static_cast<size_t>(size) * sizeof(float));
  return buffer;
}

Buffer::Buffer(Buffer&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

Buffer::~Buffer() { release(); }

void Buffer::release() {
  if (data_ != nullptr) give_back(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

int64_t buffer_pool_fresh_allocations() { return fresh_allocations.load(std::memory_order_relaxed); }

void buffer_pool_trim() {
  if (Pool* p = pool()) p->trim();
}

}  // namespace mind
