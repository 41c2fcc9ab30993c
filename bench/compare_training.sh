#!/usr/bin/env bash
# Training speed side by side in one command: builds Release into ./build, times a cache line
# between the cores (bench/core_to_core), then runs ours and PyTorch alternately on MovieLens
# latest-small and a 100 000-item synthetic catalogue (MIND d=64 and d=128, YouTube DNN), with
# our 1-vs-2-thread scaling, and writes bench/RESULTS.md. About 25 minutes; --quick: MIND d=64
# only, 3-second runs, 2 rounds. bench/run_all.sh runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_release.sh
/usr/bin/python3 bench/compare.py machine training "$@"
