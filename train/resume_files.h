// The three files --resume reads (checkpoint.safetensors, optimizer.safetensors, train_state.json)
// change together or not at all. Each is written whole (io/atomic_file.h), but a run killed
// between two of them (SIGKILL, a power cut, during a periodic save) would leave files from two
// different steps. So a save writes the three as FILE.next, then a commit mark, then renames
// them into place; a --resume first finishes a save that was marked, or drops one that was not.
#pragma once
#include <string>
#include <vector>

namespace mind::train {

// The files, in the order they are saved and moved into place.
const std::vector<std::string>& resume_file_names();  // checkpoint.safetensors, ...

// Where a save writes each file before the commit: FOLDER/NAME.next.
std::string staged_path(const std::string& folder, const std::string& name);

// The mark that says every staged file is complete.
inline constexpr const char* commit_mark_name = "resume.commit";

// Marks the staged files complete, then moves each into place and removes the mark.
void commit_resume_files(const std::string& folder);

// Before --resume reads the files: a marked save is finished (its staged files moved into
// place); staged files without the mark (a save killed half-way) are removed, leaving the
// previous complete save. Returns what it did ("" when there was nothing to do).
std::string recover_resume_files(const std::string& folder);

// A run killed after its last save wrote metrics lines for steps the resumed run will redo: keeps
// only the lines of the file at `path` (metrics.jsonl) whose "step" is at most `step` (lines
// without one, e.g. timing lines, stay), so the log reads as an uninterrupted run's. Returns
// how many lines were dropped; a missing file is no error.
int64_t drop_metrics_after_step(const std::string& path, int64_t step);

}  // namespace mind::train
