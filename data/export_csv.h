// Writes an InteractionLog as the generic CSV files the readers accept (data/readers.h), so that
// every tool, and other implementations, can train on exactly the synthetic data we generate.
// It writes; it never reads back.
#pragma once
#include <string>

#include "data/interaction_log.h"

namespace mind::data {

// Creates `dir` if needed and writes, with a header row each:
//   interactions.csv     user,item,timestamp       every row, in log order
//   item_categories.csv  item,categories           categories by name joined with '|'
//                                                  (when the log has item categories)
//   users.csv            user,<one column per profile field>   (when the log has a profile)
//   user_interests.csv   user,interests            planted category names joined with '|'
//                                                  (when the log has synthetic truth)
// Only users and items that occur in some interaction are written, since the readers reject
// features of ids the log does not contain. Fields holding ',', '"' or a line break are quoted
// (RFC 4180). Throws std::runtime_error naming the file when it cannot be written.
void export_synthetic_csv(const InteractionLog& log, const std::string& dir);

}  // namespace mind::data
