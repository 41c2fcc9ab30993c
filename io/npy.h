// NumPy's .npy format for float32, int32 and int64 arrays of any rank in C order: what `numpy.load`
// reads directly, used to export embeddings for numpy and Faiss users. We write version 1.0;
// we read 1.0, 2.0 and 3.0 (they differ only in the header length field). Not handled: other
// dtypes, big-endian data, Fortran order, pickled objects, .npz archives.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mind::io {

struct NpyArray {
  std::string descr;                  // "<f4" (float32), "<i4" (int32) or "<i8" (int64)
  std::vector<int64_t> shape;         // () is a scalar holding one value
  std::vector<float> float32_values;  // filled when descr is "<f4"
  std::vector<int32_t> int32_values;  // filled when descr is "<i4"
  std::vector<int64_t> int64_values;  // filled when descr is "<i8"

  int64_t element_count() const;
};

// Write `values` (row-major, count = product of `shape`) atomically (io/atomic_file.h). The
// header is `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, padded with spaces
// and ended by '\n' so that the data starts at a multiple of 64 bytes, as numpy does.
void save_npy_float32(const std::string& path, const std::vector<int64_t>& shape,
                      std::span<const float> values);
void save_npy_int32(const std::string& path, const std::vector<int64_t>& shape,
                    std::span<const int32_t> values);
void save_npy_int64(const std::string& path, const std::vector<int64_t>& shape,
                    std::span<const int64_t> values);

// Reads a .npy file written by us or by numpy. Errors name the file and the problem: bad magic,
// unsupported version, dtype or Fortran order, a malformed header, data size not matching shape.
NpyArray load_npy(const std::string& path);

}  // namespace mind::io
