// The one main() shared by every test program; the suites live beside it in tests/<folder>/.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
