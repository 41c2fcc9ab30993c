// Buffer: a 64-byte-aligned float array that returns its memory to a pool when it dies.
// A training step makes the same tensors every step; with the pool, their memory is taken from
// the previous step's freed buffers of the same size instead of malloc, so after the first
// steps a step allocates (almost) nothing. Each thread has its own pool (no lock), so buffers
// may be made and freed on any thread; kernels only read and write buffers, never make them.
#pragma once
#include <cstdint>

namespace mind {

class Buffer {
 public:
  Buffer() = default;
  // `size` floats, contents undefined (the pool hands back old memory).
  static Buffer uninitialized(int64_t size);
  static Buffer zeros(int64_t size);

  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t size() const { return size_; }
  bool empty() const { return data_ == nullptr; }
  void release();  // give the memory back to the pool now

 private:
  float* data_ = nullptr;
  int64_t size_ = 0;
};

// How many buffers the pool has had to malloc so far: a test checks it stops growing.
int64_t buffer_pool_fresh_allocations();
// Free every buffer cached by the calling thread's pool (tests, and before a large change of shapes).
void buffer_pool_trim();

}  // namespace mind
