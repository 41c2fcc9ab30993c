// IdIndex (see text_ids.h): a flat open-addressing hash table; short ids live in its slots,
// longer ones in one text buffer.
#include "data/text_ids.h"

#include <cstring>
#include <functional>
#include <utility>

namespace mind::data {

namespace {

constexpr size_t initial_capacity = 64;

uint64_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }

bool is_short(std::string_view id) { return id.size() <= sizeof(uint64_t); }

// A short id's bytes as one integer (zero-padded), compared in one instruction.
uint64_t packed(std::string_view id) {
  uint64_t bytes = 0;
  if (!id.empty()) std::memcpy(&bytes, id.data(), id.size());
  return bytes;
}

}  // namespace

IdIndex::IdIndex() : slots_(initial_capacity, Slot{0, 0, 0}), starts_(1, 0) {}

IdIndex::IdIndex(const std::vector<std::string>& ids) : IdIndex() {
  for (const std::string& id : ids) add(id);
}

size_t IdIndex::slot_of(std::string_view id, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  // The table is at most half full, so an empty slot always ends the probe.
  for (size_t position = static_cast<size_t>(hash) & mask;; position = (position + 1) & mask) {
    const Slot& slot = slots_[position];
    if (slot.index_plus_one == 0) return position;
    if (slot.length != id.size()) continue;
    if (is_short(id)) {
      if (slot.contents == packed(id)) return position;
    } else if (std::memcmp(text_.data() + slot.contents, id.data(), id.size()) == 0) {
      return position;
    }
  }
}

uint32_t IdIndex::find(std::string_view id) const {
  const Slot& slot = slots_[slot_of(id, hash_of(id))];
  return slot.index_plus_one == 0 ? not_found : slot.index_plus_one - 1;
}

uint32_t IdIndex::add(std::string_view id) {
  const uint64_t hash = hash_of(id);
  size_t position = slot_of(id, hash);
  if (slots_[position].index_plus_one != 0) return slots_[position].index_plus_one - 1;
  if (size() >= not_found - 1 || id.size() > UINT32_MAX) return not_found;
  const uint32_t index = static_cast<uint32_t>(size());
  const uint64_t contents = is_short(id) ? packed(id) : text_.size();
  text_.append(id);
  starts_.push_back(text_.size());
  if (2 * size() > slots_.size()) {
    grow();
    // The new id is not in the table yet, so this finds the empty slot where it belongs.
    position = slot_of(id, hash);
  }
  slots_[position] = Slot{contents, static_cast<uint32_t>(id.size()), index + 1};
  return index;
}

void IdIndex::grow() {
  std::vector<Slot> old_slots = std::move(slots_);
  slots_.assign(old_slots.size() * 2, Slot{0, 0, 0});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old_slots) {
    if (slot.index_plus_one == 0) continue;
    const uint64_t hash = hash_of(id(slot.index_plus_one - 1));
    size_t position = static_cast<size_t>(hash) & mask;
    while (slots_[position].index_plus_one != 0) position = (position + 1) & mask;
    slots_[position] = slot;
  }
}

std::vector<std::string> IdIndex::take_ids() {
  std::vector<std::string> ids;
  ids.reserve(size());
  for (uint32_t index = 0; index < size(); ++index) ids.emplace_back(id(index));
  slots_.assign(initial_capacity, Slot{0, 0, 0});
  text_.clear();
  starts_.assign(1, 0);
  return ids;
}

}  // namespace mind::data
