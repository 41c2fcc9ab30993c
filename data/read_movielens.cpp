// The three MovieLens layouts: the current CSV one (ml-latest, -small, -20m, -25m), ML-1M
// ('::'-separated .dat files) and ML-100K (u.data, u.item, u.user). What each field becomes is
// documented in data/readers.h; this file is the parsing.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/readers.h"
#include "data/text_features.h"
#include "data/text_fields.h"
#include "data/text_ids.h"
#include "data/text_reader.h"

namespace mind::data {

namespace {

std::string path_in(const std::string& folder, const char* name) {
  return (std::filesystem::path(folder) / name).string();
}

bool file_exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

[[noreturn]] void throw_empty(const std::string& path, const std::string& expected) {
  throw std::runtime_error(path + ":1: the file is empty (expected lines " + expected + ")");
}

// Reads a headerless ratings file (ML-1M ratings.dat, ML-100K u.data) of lines
// user SEP item SEP rating SEP timestamp.
InteractionLog read_ratings_lines(const std::string& path, std::string_view separator,
                                  const std::string& separator_name, ProgressReport progress) {
  TextReader reader(path, std::move(progress));
  InteractionLog log;
  log.source = path;
  IdIndex users;
  IdIndex items;
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next_line(line)) {
    split_fields(line, separator, fields);
    expect_field_count(reader, fields, 4, separator_name);
    parse_uint64(reader, fields[0], "user id");
    parse_uint64(reader, fields[1], "movie id");
    Interaction interaction;
    interaction.user = users.add(fields[0]);
    interaction.item = items.add(fields[1]);
    if (interaction.user == IdIndex::not_found) reader.fail("too many distinct users (limit 2^32 - 2)");
    if (interaction.item == IdIndex::not_found) reader.fail("too many distinct movies (limit 2^32 - 2)");
    interaction.timestamp = parse_int64(reader, fields[3], "timestamp");
    log.interactions.push_back(interaction);
  }
  if (log.interactions.empty()) {
    throw std::runtime_error(path + ":1: the file is empty (expected one rating per line: user" +
                             std::string(separator) + "movie" + std::string(separator) + "rating" +
                             std::string(separator) + "timestamp)");
  }
  log.user_ids = users.take_ids();
  log.item_ids = items.take_ids();
  return log;
}

// Titles and categories of the rated movies, collected while a movies file is read.
class MovieTable {
 public:
  explicit MovieTable(const InteractionLog& log)
      : items_(log.item_ids),
        titles_(log.item_ids.size()),
        categories_(log.item_ids.size()),
        listed_(log.item_ids.size(), false) {}

  // The log's index of the movie with id `id_text`, or IdIndex::not_found for a movie nobody
  // rated (ignored, as documented). Listing a rated movie twice is an error.
  uint32_t claim(const TextReader& reader, std::string_view id_text) {
    parse_uint64(reader, id_text, "movie id");
    const uint32_t item = items_.find(id_text);
    if (item == IdIndex::not_found) return item;
    if (listed_[item]) reader.fail("movie " + quote_for_message(id_text) + " is listed twice");
    listed_[item] = true;
    return item;
  }

  void set_title(const TextReader& reader, uint32_t item, std::string title) {
    check_text(reader, title, "title");
    titles_[item] = std::move(title);
  }
  // `genres` is '|'-separated; MovieLens writes "(no genres listed)" for none.
  void set_genres(const TextReader& reader, uint32_t item, std::string_view genres) {
    if (genres == "(no genres listed)") return;
    parse_category_list(reader, genres, category_names_, categories_[item]);
  }
  void add_category(uint32_t item, uint32_t category) { categories_[item].push_back(category); }
  IdIndex& category_names() { return category_names_; }

  void move_into(InteractionLog& log) {
    log.item_titles = std::move(titles_);
    log.item_categories = std::move(categories_);
    log.category_names = category_names_.take_ids();
  }

 private:
  IdIndex items_;
  IdIndex category_names_;
  std::vector<std::string> titles_;                 // [items]
  std::vector<std::vector<uint32_t>> categories_;   // [items][categories of the item]
  std::vector<bool> listed_;                        // [items]
};

// The log's index of user `id_text`, or IdIndex::not_found for a user with no rating
// (ignored, as documented). Listing a user twice is an error.
uint32_t claim_user(const TextReader& reader, const IdIndex& users, const ProfileBuilder& profile,
                    std::string_view id_text) {
  parse_uint64(reader, id_text, "user id");
  const uint32_t user = users.find(id_text);
  if (user == IdIndex::not_found) return user;
  if (profile.has_row(user)) reader.fail("user " + quote_for_message(id_text) + " is listed twice");
  return user;
}

// ML-1M's age codes are the lower ends of its bands; ML-100K ages are put in the same bands.
std::string age_band_of_code(const TextReader& reader, std::string_view code) {
  if (code == "1") return "Under 18";
  if (code == "18") return "18-24";
  if (code == "25") return "25-34";
  if (code == "35") return "35-44";
  if (code == "45") return "45-49";
  if (code == "50") return "50-55";
  if (code == "56") return "56+";
  reader.fail("age code " + quote_for_message(code) + " is not one of 1, 18, 25, 35, 45, 50, 56");
}

std::string age_band_of_years(uint64_t years) {
  if (years < 18) return "Under 18";
  if (years < 25) return "18-24";
  if (years < 35) return "25-34";
  if (years < 45) return "35-44";
  if (years < 50) return "45-49";
  if (years < 56) return "50-55";
  return "56+";
}

// ML-1M occupation codes, as listed in its README.
std::string occupation_of_code(const TextReader& reader, std::string_view code) {
  static const char* const names[] = {
      "other or not specified", "academic/educator", "artist", "clerical/admin",
      "college/grad student", "customer service", "doctor/health care", "executive/managerial",
      "farmer", "homemaker", "K-12 student", "lawyer", "programmer", "retired",
      "sales/marketing", "scientist", "self-employed", "technician/engineer",
      "tradesman/craftsman", "unemployed", "writer"};
  const uint64_t index = parse_uint64(reader, code, "occupation code");
  if (index > 20) reader.fail("occupation code " + quote_for_message(code) + " is not between 0 and 20");
  return names[index];
}

// The 19 genre flags at the end of each u.item line, in this order (ML-100K README).
const char* const movielens_100k_genres[19] = {
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western"};

void read_movies_csv(const std::string& path, InteractionLog& log) {
  TextReader reader(path);
  std::vector<std::string_view> fields;
  if (!reader.next_record(',', fields)) {
    throw std::runtime_error(path + ":1: the file is empty (expected the header movieId,title,genres)");
  }
  if (fields.size() != 3 || fields[0] != "movieId" || fields[1] != "title" || fields[2] != "genres") {
    reader.fail("expected the header movieId,title,genres");
  }
  MovieTable movies(log);
  while (reader.next_record(',', fields)) {
    expect_field_count(reader, fields, 3, "','");
    const uint32_t item = movies.claim(reader, fields[0]);
    if (item == IdIndex::not_found) continue;
    movies.set_title(reader, item, std::string(fields[1]));
    movies.set_genres(reader, item, fields[2]);
  }
  movies.move_into(log);
}

void read_movies_dat(const std::string& path, InteractionLog& log) {
  TextReader reader(path);
  MovieTable movies(log);
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next_line(line)) {
    split_fields(line, "::", fields);
    expect_field_count(reader, fields, 3, "'::'");
    const uint32_t item = movies.claim(reader, fields[0]);
    if (item == IdIndex::not_found) continue;
    movies.set_title(reader, item, latin1_to_utf8(fields[1]));
    movies.set_genres(reader, item, fields[2]);
  }
  if (reader.line_number() == 0) throw_empty(path, "MovieID::Title::Genres");
  movies.move_into(log);
}

void read_users_dat(const std::string& path, InteractionLog& log) {
  TextReader reader(path);
  const IdIndex users(log.user_ids);
  ProfileBuilder profile(log.user_ids.size(), {"gender", "age", "occupation"});
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next_line(line)) {
    split_fields(line, "::", fields);
    expect_field_count(reader, fields, 5, "'::'");
    const uint32_t user = claim_user(reader, users, profile, fields[0]);
    if (user == IdIndex::not_found) continue;
    const std::string age = age_band_of_code(reader, fields[2]);
    const std::string occupation = occupation_of_code(reader, fields[3]);
    check_text(reader, fields[1], "gender");
    profile.set_row(user, {fields[1], age, occupation});
  }
  if (reader.line_number() == 0) throw_empty(path, "UserID::Gender::Age::Occupation::Zip-code");
  profile.move_into(log);
}

void read_u_item(const std::string& path, InteractionLog& log) {
  TextReader reader(path);
  MovieTable movies(log);
  // Every genre gets its index up front, so a flag's position is its category index.
  for (const char* genre : movielens_100k_genres) movies.category_names().add(genre);
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next_line(line)) {
    split_fields(line, "|", fields);
    expect_field_count(reader, fields, 24, "'|' (id, title, 2 dates, URL, 19 genre flags)");
    const uint32_t item = movies.claim(reader, fields[0]);
    if (item == IdIndex::not_found) continue;
    movies.set_title(reader, item, latin1_to_utf8(fields[1]));
    for (uint32_t genre = 0; genre < 19; ++genre) {
      const std::string_view flag = fields[5 + genre];
      if (flag != "0" && flag != "1") {
        reader.fail("genre flag " + std::to_string(genre + 1) + " (" + movielens_100k_genres[genre] +
                    ") is " + quote_for_message(flag) + ", expected 0 or 1");
      }
      if (flag == "1") movies.add_category(item, genre);
    }
  }
  if (reader.line_number() == 0) {
    throw_empty(path, "id|title|release date|video release date|IMDb URL|19 genre flags");
  }
  movies.move_into(log);
}

void read_u_user(const std::string& path, InteractionLog& log) {
  TextReader reader(path);
  const IdIndex users(log.user_ids);
  ProfileBuilder profile(log.user_ids.size(), {"gender", "age", "occupation"});
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next_line(line)) {
    split_fields(line, "|", fields);
    expect_field_count(reader, fields, 5, "'|'");
    const uint32_t user = claim_user(reader, users, profile, fields[0]);
    if (user == IdIndex::not_found) continue;
    const std::string age = age_band_of_years(parse_uint64(reader, fields[1], "age"));
    check_text(reader, fields[2], "gender");
    check_text(reader, fields[3], "occupation");
    profile.set_row(user, {fields[2], age, fields[3]});
  }
  if (reader.line_number() == 0) throw_empty(path, "id|age|gender|occupation|zip");
  profile.move_into(log);
}

}  // namespace

InteractionLog read_movielens_csv(const std::string& folder, ProgressReport progress) {
  CsvLayout layout;
  layout.user_column = "userId";
  layout.item_column = "movieId";
  layout.time_column = "timestamp";
  layout.delimiter = ',';
  layout.integer_ids = true;
  InteractionLog log = read_csv_log(path_in(folder, "ratings.csv"), layout, std::move(progress));
  const std::string movies_path = path_in(folder, "movies.csv");
  if (file_exists(movies_path)) read_movies_csv(movies_path, log);
  return log;
}

InteractionLog read_movielens_1m(const std::string& folder, ProgressReport progress) {
  InteractionLog log = read_ratings_lines(path_in(folder, "ratings.dat"), "::", "'::'", std::move(progress));
  const std::string movies_path = path_in(folder, "movies.dat");
  if (file_exists(movies_path)) read_movies_dat(movies_path, log);
  const std::string users_path = path_in(folder, "users.dat");
  if (file_exists(users_path)) read_users_dat(users_path, log);
  return log;
}

InteractionLog read_movielens_100k(const std::string& folder, ProgressReport progress) {
  InteractionLog log = read_ratings_lines(path_in(folder, "u.data"), "\t", "tabs", std::move(progress));
  const std::string movies_path = path_in(folder, "u.item");
  if (file_exists(movies_path)) read_u_item(movies_path, log);
  const std::string users_path = path_in(folder, "u.user");
  if (file_exists(users_path)) read_u_user(users_path, log);
  return log;
}

}  // namespace mind::data
