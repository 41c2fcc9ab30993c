// Regression tests for what fuzzing the readers (fuzz/) found: each input the fuzzer (or a
// harness check) caught, embedded here, with the clear error or the correct parse it must give.
// How to add one: fuzz/README.md.
#include <doctest/doctest.h>

#include <string>

#include "data/readers.h"
#include "data/text_fields.h"
#include "test_readers_files.h"

using mind::data::InteractionLog;
using mind::data::latin1_to_utf8;
using mind::data::testing::TempFolder;

// fuzz_movielens_1m: a movies.dat title "\xED\xA0\x80" came back unchanged. Its bytes look like
// a UTF-8 sequence, so the title was taken for UTF-8 already, but the sequence encodes the
// surrogate U+D800, which is not UTF-8: the "converted" title was invalid UTF-8. As ISO-8859-1
// it is "í", a no-break space and the control U+0080, each encoded in two bytes.
TEST_CASE("fuzz regression: a Latin-1 title that looks like a UTF-8 surrogate is converted") {
  TempFolder folder;
  folder.write("ratings.dat", "1::10::5::9\n");
  folder.write("movies.dat", "10::\xED\xA0\x80::Drama\n");
  const InteractionLog log = mind::data::read_movielens_1m(folder.path());
  REQUIRE(log.item_titles.size() == 1);
  CHECK(log.item_titles[0] == "\xC3\xAD\xC2\xA0\xC2\x80");
}

// The same check covers the other byte sequences that have a valid lead and continuation bytes
// but are not UTF-8: overlong forms and code points above U+10FFFF. The neighbours just inside
// the valid ranges stay unchanged.
TEST_CASE("fuzz regression: overlong and out-of-range sequences are Latin-1, their neighbours UTF-8") {
  CHECK(latin1_to_utf8("\xE0\x80\x80") == "\xC3\xA0\xC2\x80\xC2\x80");              // overlong U+0000
  CHECK(latin1_to_utf8("\xF0\x80\x80\x80") == "\xC3\xB0\xC2\x80\xC2\x80\xC2\x80");  // overlong U+0000
  CHECK(latin1_to_utf8("\xF4\x90\x80\x80") == "\xC3\xB4\xC2\x90\xC2\x80\xC2\x80");  // U+110000
  CHECK(latin1_to_utf8("\xED\xBF\xBF") == "\xC3\xAD\xC2\xBF\xC2\xBF");              // surrogate U+DFFF
  CHECK(latin1_to_utf8("\xE0\xA0\x80") == "\xE0\xA0\x80");          // U+0800, the first 3-byte one
  CHECK(latin1_to_utf8("\xED\x9F\xBF") == "\xED\x9F\xBF");          // U+D7FF, just below the surrogates
  CHECK(latin1_to_utf8("\xF0\x90\x80\x80") == "\xF0\x90\x80\x80");  // U+10000, the first 4-byte one
  CHECK(latin1_to_utf8("\xF4\x8F\xBF\xBF") == "\xF4\x8F\xBF\xBF");  // U+10FFFF, the last code point
}
