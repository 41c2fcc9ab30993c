// The output folder, checked before any work is done: a run that can only fail when it first
// saves, an hour in, should fail in the first second instead.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mind::train {

// Every file a run may write into --out, in one place: the output folder check, --overwrite and
// the tests (every file a run leaves is one of these) read this list. Writers add here first.
const std::vector<std::string>& run_file_names();

// A run file, or the temporary of one a killed save left behind ("best.safetensors.tmp-4242").
bool is_run_file(const std::string& name);

// What the run does with an --out that already holds a run.
enum class OutputUse {
  fresh,      // refuse it (a new run would mix its files with the old run's)
  resume,     // continue it (--resume): its files are updated in place
  overwrite,  // remove the old run's files first (--overwrite)
};

// Creates `folder` (and its parents) and proves it writable with a small atomic write. Throws
// std::runtime_error naming --out and the reason (a path under a file, a read-only file
// system, a full disk, ...). A fresh run or --overwrite refuses a folder holding anything
// mind_train does not write, naming it; a fresh run refuses a folder holding a run.
void prepare_output_folder(const std::string& folder, OutputUse use);

// Throws std::runtime_error naming --out, the space free there and the space a run needs when
// the file system holding `folder` has fewer than `bytes_needed` bytes free for us.
void require_free_space(const std::string& folder, uint64_t bytes_needed);

}  // namespace mind::train
