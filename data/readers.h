// The interaction-log readers: generic CSV/TSV, the three MovieLens layouts, and the optional
// item and user feature files. Each returns (or fills) an InteractionLog with original ids as
// strings; none of them sorts, remaps or splits (data/dataset.h does). Most callers want
// data/load.h, which picks the reader from --data and --format.
//
// Every problem in a file is a std::runtime_error "<path>:<line>: <problem>"; a missing file
// names the path looked for. Nothing is skipped silently; the few rows that are deliberately
// ignored (MovieLens movies or users that appear in no rating) are listed below.
#pragma once
#include <string>
#include <string_view>

#include "data/interaction_log.h"
#include "data/text_reader.h"

namespace mind::data {

// ---- Generic CSV / TSV log -------------------------------------------------------------------

// Where the three columns of a delimited log are, and how its fields are separated.
struct CsvLayout {
  std::string user_column = "user";       // header names, matched exactly (case-sensitive)
  std::string item_column = "item";
  std::string time_column = "timestamp";
  char delimiter = 0;                     // 0: detect from the header: tab if it holds one, else ','
  bool integer_ids = false;               // MovieLens: ids must be integers that fit in 64 bits
};

// Builds a layout from the command-line texts. `columns` is "user=COL,item=COL,time=COL" with
// any subset of the three keys in any order ("" keeps the defaults user, item, timestamp).
// `delimiter` is "" (detect), one character, or the words "tab" / "\t" / "comma".
// Throws naming the option on a malformed text.
CsvLayout parse_csv_layout(const std::string& columns, const std::string& delimiter);

// Reads a delimited log with a header row. Fields may be RFC 4180 quoted (delimiters, doubled
// quotes and line breaks inside quotes); CRLF or LF line ends; a UTF-8 byte order mark is ignored.
// Other columns (a rating, say) are ignored. Every row must have as many fields as the header.
// Ids are kept as text ("007" and "7" are different users). Timestamps are decimal integers
// and may be negative (dates before 1970); anything else (1.5, 2020-01-01, empty) is an error.
// `progress` (optional, here and in the MovieLens readers) is told the bytes read of the log file
// block by block (data/text_reader.h); the MovieLens metadata files, small, do not report.
InteractionLog read_csv_log(const std::string& path, const CsvLayout& layout, ProgressReport progress = {});

// ---- Feature files for any log ----------------------------------------------------------------

// Item features: a header with columns `item` and `categories` (and optionally `title`), one
// row per item, categories separated by '|' ("" = none). Fills item_categories (and item_titles
// if there is a title column), and category_names in order of first appearance. Items of the
// log that the file does not list get no categories (and an empty title). An item the log does
// not contain, an item listed twice, an empty category name ("a||b") or one named twice in a
// row is an error. The log must not have item features already. `progress` (optional) is told
// the bytes read.
void read_item_features(const std::string& path, InteractionLog& log, ProgressReport progress = {});

// The value given to a user who has no row in a user features file (and to an empty cell).
inline constexpr std::string_view missing_profile_value = "(missing)";

// User features: a header with a column `user` and at least one more; every other column is a
// categorical profile field named by its header. Fills profile_field_names, profile_values
// (each field's values in order of first appearance) and user_profile. A user of the log with
// no row gets missing_profile_value in every field (cold users are common in real logs, so this
// is not an error). A user the log does not contain, or a user listed twice, is an error.
// The log must not have a user profile already. `progress` (optional) is told the bytes read.
void read_user_features(const std::string& path, InteractionLog& log, ProgressReport progress = {});

// ---- MovieLens --------------------------------------------------------------------------------
// Ratings are implicit feedback: every rating is one interaction, its value is ignored.
// MovieLens ids must be integers that fit in 64 bits. Movies (and users) listed in the
// metadata files but absent from the ratings are ignored: MovieLens lists some unrated movies
// (ml-latest-small lists 9,742 and 9,724 are rated). A rated movie missing from the movies file
// gets no title and no categories. Category names are in order of first appearance among rated
// movies in the movies file (ML-100K: its fixed list of 19, in the file's flag order).

// Current CSV layout (ml-latest, ml-latest-small, ml-20m, ml-25m): `folder/ratings.csv`
// (userId,movieId,rating,timestamp) and, if present, `folder/movies.csv` (movieId,title,genres;
// genres '|'-separated, "(no genres listed)" meaning none). No user features in this layout.
InteractionLog read_movielens_csv(const std::string& folder, ProgressReport progress = {});

// MovieLens-1M: `folder/ratings.dat` (UserID::MovieID::Rating::Timestamp) and, if present,
// `movies.dat` (MovieID::Title::Genres, ISO-8859-1 titles converted to UTF-8) and `users.dat`
// (UserID::Gender::Age::Occupation::Zip-code). Profile fields: gender (as written, M/F),
// age (the file's band codes as labels: "Under 18", "18-24", "25-34", "35-44", "45-49",
// "50-55", "56+") and occupation (the code's name from the ML-1M README, e.g. "programmer");
// the zip code is ignored.
InteractionLog read_movielens_1m(const std::string& folder, ProgressReport progress = {});

// MovieLens-100K: `folder/u.data` (tab-separated user, item, rating, timestamp) and, if present,
// `u.item` (id|title|release date|video release date|IMDb URL|19 genre flags, ISO-8859-1) and
// `u.user` (id|age|gender|occupation|zip). Genre names are the fixed ML-100K list (unknown,
// Action, ..., Western; "unknown" is kept as a category like the others). Profile fields:
// gender, age and occupation (as written, e.g. "technician"); the age in years is put into the
// same bands as ML-1M so that models see one vocabulary: under 18, 18-24, 25-34, 35-44, 45-49,
// 50-55, 56+. The zip code is ignored.
InteractionLog read_movielens_100k(const std::string& folder, ProgressReport progress = {});

}  // namespace mind::data
