// Shape: up to four axis sizes. Small and by value; `to_string` writes "[2, 3]" for errors.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace mind {

struct Shape {
  static constexpr int max_rank = 4;
  int rank = 0;
  int64_t dims[max_rank] = {0, 0, 0, 0};

  Shape() = default;
  Shape(std::initializer_list<int64_t> sizes) {
    if (sizes.size() > static_cast<size_t>(max_rank))
      throw std::invalid_argument("Shape: at most 4 axes, got " + std::to_string(sizes.size()));
    for (int64_t size : sizes) {
      if (size < 0) throw std::invalid_argument("Shape: negative axis size " + std::to_string(size));
      dims[rank++] = size;
    }
  }

  int64_t numel() const {
    int64_t count = 1;
    for (int axis = 0; axis < rank; ++axis) count *= dims[axis];
    return count;
  }

  // size(-1) is the last axis, as in numpy.
  int64_t size(int axis) const { return dims[normalize_axis(axis)]; }
  int64_t last() const { return rank == 0 ? 1 : dims[rank - 1]; }

  int normalize_axis(int axis) const {
    const int normalized = axis < 0 ? axis + rank : axis;
    if (normalized < 0 || normalized >= rank)
      throw std::invalid_argument("axis " + std::to_string(axis) + " out of range for shape " +
                                  to_string());
    return normalized;
  }

  // Product of the sizes before `axis` / after `axis`: a tensor seen as [outer, size(axis), inner].
  int64_t outer(int axis) const {
    int64_t count = 1;
    for (int i = 0; i < normalize_axis(axis); ++i) count *= dims[i];
    return count;
  }
  int64_t inner(int axis) const {
    int64_t count = 1;
    for (int i = normalize_axis(axis) + 1; i < rank; ++i) count *= dims[i];
    return count;
  }

  bool operator==(const Shape& other) const {
    if (rank != other.rank) return false;
    for (int axis = 0; axis < rank; ++axis)
      if (dims[axis] != other.dims[axis]) return false;
    return true;
  }
  bool operator!=(const Shape& other) const { return !(*this == other); }

  std::string to_string() const {
    std::string text = "[";
    for (int axis = 0; axis < rank; ++axis) {
      if (axis > 0) text += ", ";
      text += std::to_string(dims[axis]);
    }
    return text + "]";
  }
};

}  // namespace mind
