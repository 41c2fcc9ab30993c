// A two-phase save of the files --resume needs (train/resume_files.h).
#include "train/resume_files.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "io/atomic_file.h"

namespace mind::train {

namespace {
void move_into_place(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw std::runtime_error(from + ": cannot rename it to " + to + " (completing a save)");
}
}  // namespace

const std::vector<std::string>& resume_file_names() {
  static const std::vector<std::string> names = {"checkpoint.safetensors", "optimizer.safetensors", "train_state.json"};
  return names;
}

std::string staged_path(const std::string& folder, const std::string& name) { return folder + "/" + name + ".next"; }

void commit_resume_files(const std::string& folder) {
  const std::string mark = folder + "/" + commit_mark_name;
  io::AtomicFileWriter writer(mark);  // durable before the first rename: a recovery may trust it
  writer.write("complete\n", 9);
  writer.commit();
  for (const std::string& name : resume_file_names())
    move_into_place(staged_path(folder, name), folder + "/" + name);
  std::filesystem::remove(mark);
}

std::string recover_resume_files(const std::string& folder) {
  const std::string mark = folder + "/" + commit_mark_name;
  const bool marked = std::filesystem::exists(mark);
  std::string done;
  for (const std::string& name : resume_file_names()) {
    const std::string staged = staged_path(folder, name);
    if (!std::filesystem::exists(staged)) continue;  // not written yet, or already moved
    if (marked) {
      move_into_place(staged, folder + "/" + name);
      done = "completed the save that was cut short";
    } else {
      std::filesystem::remove(staged);
      done = "dropped the save that was cut short (its files were incomplete)";
    }
  }
  if (marked) {
    std::filesystem::remove(mark);
    if (done.empty()) done = "completed the save that was cut short";
  }
  return done;
}

int64_t drop_metrics_after_step(const std::string& path, int64_t step) {
  std::ifstream file(path);
  if (!file) return 0;
  std::string kept;
  int64_t dropped = 0;
  int64_t line_number = 0;
  for (std::string line; std::getline(file, line);) {
    ++line_number;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& error) {
      // A line cut short by the kill is the only way to get here; anything else is not ours.
      if (file.peek() != std::char_traits<char>::eof())
        throw std::runtime_error(path + ":" + std::to_string(line_number) + ": not a JSON line: " + error.what());
      ++dropped;
      continue;
    }
    if (record.contains("step") && record.at("step").is_number() && record.at("step").get<int64_t>() > step) {
      ++dropped;
      continue;
    }
    kept += line + "\n";
  }
  if (dropped == 0) return 0;
  io::AtomicFileWriter writer(path);
  writer.write(kept.data(), kept.size());
  writer.commit();
  return dropped;
}

}  // namespace mind::train
