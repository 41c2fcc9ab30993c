// IdIndex: gives each distinct id string (a user, an item, a category, a profile value) a dense
// index in order of first appearance. Lookups take a string_view and allocate nothing. It is not
// the protocol-v1 remapping (data/dataset.h does that).
//
// Why not std::unordered_map<std::string, uint32_t>: a lookup there follows a bucket pointer,
// then the node before the match, then the match, each a likely cache miss once the map
// outgrows the cache. Here a lookup reads one 16-byte slot of a flat table, which holds a short
// id (8 bytes or fewer: most numeric ids) itself and a longer one's place in a single text
// buffer. Measured on 5M lookups: 2x faster than the unordered_map with 100k distinct ids,
// 2.5x with 1.8M, and one allocation per table instead of one or two per id.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mind::data {

class IdIndex {
 public:
  static constexpr uint32_t not_found = UINT32_MAX;

  IdIndex();
  // Indexes existing ids (assumed distinct) so that find() answers for them.
  explicit IdIndex(const std::vector<std::string>& ids);

  // The index of `id`, appending it if new. Returns not_found only when UINT32_MAX - 1 ids
  // exist already (indices are 32-bit) or the id is over 4 GiB long; the caller reports that
  // with its file and line.
  uint32_t add(std::string_view id);
  // The index of `id`, or not_found.
  uint32_t find(std::string_view id) const;

  size_t size() const { return starts_.size() - 1; }
  std::string_view id(uint32_t index) const {
    return std::string_view(text_.data() + starts_[index], starts_[index + 1] - starts_[index]);
  }
  // The ids as strings, in order of first appearance; the index is empty afterwards.
  std::vector<std::string> take_ids();

 private:
  // Open addressing with linear probing. An id of up to 8 bytes is kept in `contents` itself
  // (its bytes copied into the integer, zero-padded), so finding it reads this slot and nothing
  // else; a longer id's `contents` is where its bytes start in text_. Comparing the lengths
  // first rejects most other ids without reading any text.
  struct Slot {
    uint64_t contents;
    uint32_t length;
    uint32_t index_plus_one;  // 0: empty slot
  };
  // Position of the slot holding `id`, or of the empty slot where it would go.
  size_t slot_of(std::string_view id, uint64_t hash) const;
  // Doubles the table and puts every id back.
  void grow();

  std::vector<Slot> slots_;     // [capacity], a power of two, at most half full
  std::string text_;            // every id's bytes back to back (short ones too, for id())
  std::vector<uint64_t> starts_;  // [size + 1]: id i is text_[starts_[i], starts_[i + 1])
};

}  // namespace mind::data
