#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang into build-fuzz/ and runs each one, one
# after another, for the given number of seconds on a working copy of its seed corpus; prints
# executions and crashes per harness and exits non-zero if any harness crashed (or failed).
#   fuzz/run.sh SECONDS [HARNESS...]      e.g. fuzz/run.sh 10, fuzz/run.sh 600 csv npy
set -u -o pipefail

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: $0 SECONDS [HARNESS...]   (SECONDS per harness, at least 1; HARNESS e.g. csv, npy)" >&2
  exit 2
fi
duration=$1
shift

repo=$(cd "$(dirname "$0")/.." && pwd)
build="$repo/build-fuzz"

# clang and its runtime libraries (libFuzzer, ASan, UBSan) come from Debian.
if ! command -v clang++ >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  echo "== installing clang and libclang-rt-14-dev"
  apt-get update -qq && apt-get install -y -qq clang libclang-rt-14-dev || {
    echo "could not install clang / libclang-rt-14-dev (run as root, or install them)" >&2
    exit 2
  }
fi

echo "== building the harnesses into $build"
mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$repo/fuzz" -B "$build" -DCMAKE_BUILD_TYPE= >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 2; }
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" >"$build/build.log" 2>&1 || { tail -50 "$build/build.log" >&2; exit 2; }

# The dictionary each harness uses (file under fuzz/dict/).
dictionary_of() {
  case "$1" in
    csv) echo csv ;;
    movielens_*) echo movielens ;;
    item_features | user_features) echo features ;;
    histories) echo csv ;;
    *) echo "$1" ;;
  esac
}

if [ $# -gt 0 ]; then
  harnesses=("$@")
else
  harnesses=()
  for program in "$build"/fuzz_*; do
    [ -x "$program" ] && harnesses+=("$(basename "$program" | sed 's/^fuzz_//')")
  done
fi

mkdir -p "$build/logs"
# The harnesses write their input to files under $TMPDIR every iteration; on tmpfs that costs
# nothing (and the .npy writer's fsync is free), on a disk it is most of the time per input.
scratch_parent=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_parent=/dev/shm
TMPDIR=$(mktemp -d "$scratch_parent/mind_fuzz_run.XXXXXX") || exit 2
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
rows=()
failed=0
for name in "${harnesses[@]}"; do
  program="$build/fuzz_$name"
  if [ ! -x "$program" ]; then
    echo "no harness '$name' (expected $program)" >&2
    exit 2
  fi
  # The working corpus grows run after run; the repository's seeds stay as they are.
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$corpus"
  cp -n "$repo/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
  rm -rf "$artifacts" && mkdir -p "$artifacts"
  dictionary="$repo/fuzz/dict/$(dictionary_of "$name").dict"
  dictionary_flag=()
  [ -f "$dictionary" ] && dictionary_flag=(-dict="$dictionary")

  echo "== fuzz_$name for ${duration} s (log: $log)"
  "$program" -max_total_time="$duration" -print_final_stats=1 -timeout=2 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" "${dictionary_flag[@]}" "$corpus" >"$log" 2>&1
  status=$?
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  note=""
  if [ "$crashes" -gt 0 ] || [ "$status" -ne 0 ]; then
    failed=1
    note="exit $status; see $log and $artifacts"
    grep -m 3 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/    /'
  fi
  rows+=("$(printf '%-16s %14s %8s   %s' "$name" "${executions:-?}" "$crashes" "$note")")
done

echo
printf '%-16s %14s %8s\n' harness executions crashes
for row in "${rows[@]}"; do echo "$row"; done
exit $failed
