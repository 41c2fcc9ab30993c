// The output folder, checked before any work is done: a run that can only fail when it first
// saves, an hour in, should fail in the first second instead.
#pragma once
#include <cstdint>
#include <string>

namespace mind::train {

// Creates `folder` (and its parents) and proves it writable with a small atomic write. Throws
// std::runtime_error naming --out and the reason (a path under a file, a read-only file
// system, a full disk, ...).
void prepare_output_folder(const std::string& folder);

// Throws std::runtime_error naming --out, the space free there and the space a run needs when
// the file system holding `folder` has fewer than `bytes_needed` bytes free for us.
void require_free_space(const std::string& folder, uint64_t bytes_needed);

}  // namespace mind::train
