// --config FILE: a program's flags read from a file, one `flag = value` per line (CLI11's
// TOML-like config format: the long flag name without its dashes, `#` starts a comment); flags
// given on the command line override the file. Recipes (recipes/) are such files.
#pragma once
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <string>

namespace mind::tools {

inline CLI::Option* add_config_flag(CLI::App& app) {
  CLI::Option* option = app.set_config("--config", "", "read flags from FILE, one 'flag = value' per line "
                                       "(e.g. 'interests = 2'); flags on the command line override it");
  option->type_name("FILE")->group("Output");
  app.allow_config_extras(false);  // a key that is no flag is an error, not silently ignored
  return option;
}

// The 1-based line of `path` whose key is `key` (the name CLI11 could not use), or 0.
inline int config_line_of(const std::string& path, const std::string& key) {
  std::ifstream file(path);
  int number = 0;
  for (std::string line; std::getline(file, line);) {
    ++number;
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    const size_t end = line.find_first_of(" \t=", start);
    if (line.substr(start, end == std::string::npos ? std::string::npos : end - start) == key) return number;
  }
  return 0;
}

// Reports a parse error; one in the config file (CLI11 does not name the file) names the file
// and, when it can be found, the line. Returns the exit code.
inline int report_parse_error(CLI::App& app, const CLI::ParseError& error, const CLI::Option* config) {
  if (config->count() == 0 || error.get_exit_code() == 0) return app.exit(error);
  const std::string path = config->as<std::string>();
  std::string message = error.what();
  if (dynamic_cast<const CLI::ConfigError*>(&error) != nullptr) {
    const std::string prefix = "INI was not able to parse ";
    std::string location = path;
    if (message.rfind(prefix, 0) == 0) {
      const std::string key = message.substr(prefix.size());
      const int line = config_line_of(path, key);
      if (line > 0) location += ":" + std::to_string(line);
      message = "'" + key + "' is not a flag of this program";
    }
    std::cerr << "error: --config " << location << ": " << message << "\n";
  } else {
    std::cerr << "error: " << message << " (flags came from --config " << path << " and the command line)\n";
  }
  return error.get_exit_code();
}

}  // namespace mind::tools
