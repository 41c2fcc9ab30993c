// Running the programs of the build folder from a test, as a user would from a shell, and
// reading what they wrote. Shared by the program tests of this folder.
#pragma once
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mind::testing {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a program of the build folder (`arguments` starts with its name) from `directory`.
inline Result run_from(const std::string& directory, const std::string& arguments) {
  const std::string command = "cd '" + directory + "' && " + std::string(MIND_BINARY_DIR) + "/" + arguments + " 2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot start " << command);
  char buffer[4096];
  while (size_t count = fread(buffer, 1, sizeof(buffer), pipe)) result.output.append(buffer, count);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The same from the test's working directory.
inline Result run(const std::string& arguments) {
  return run_from(std::filesystem::current_path().string(), arguments);
}

inline std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace mind::testing
