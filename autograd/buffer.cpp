// The buffer pool: freed buffers are kept in lists by exact size and handed out again.
// Exact sizes (not size classes) because a training step repeats exactly the same shapes.
#include "autograd/buffer.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace mind {
namespace {

constexpr size_t alignment = 64;  // one cache line; also an AVX-512 register
constexpr int64_t max_cached_floats = int64_t{1} << 30;  // 4 GiB: beyond this, really free

struct Pool {
  std::mutex mutex;
  std::unordered_map<int64_t, std::vector<float*>> free_lists;
  int64_t cached_floats = 0;
  int64_t fresh_allocations = 0;
};

Pool& pool() {
  static Pool* the_pool = new Pool();  // never destroyed: buffers may die after main returns
  return *the_pool;
}

float* take(int64_t size) {
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto found = p.free_lists.find(size);
    if (found != p.free_lists.end() && !found->second.empty()) {
      float* memory = found->second.back();
      found->second.pop_back();
      p.cached_floats -= size;
      return memory;
    }
    ++p.fresh_allocations;
  }
  const size_t bytes = (static_cast<size_t>(size) * sizeof(float) + alignment - 1) / alignment * alignment;
  void* memory = std::aligned_alloc(alignment, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  return static_cast<float*>(memory);
}

void give_back(float* memory, int64_t size) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.cached_floats + size > max_cached_floats) {
    std::free(memory);
    return;
  }
  p.free_lists[size].push_back(memory);
  p.cached_floats += size;
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

int64_t buffer_pool_fresh_allocations() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.fresh_allocations;
}

void buffer_pool_trim() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (auto& [size, list] : p.free_lists)
    for (float* memory : list) std::free(memory);
  p.free_lists.clear();
  p.cached_floats = 0;
}

}  // namespace mind
