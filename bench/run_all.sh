#!/usr/bin/env bash
# The one command behind every figure in bench/RESULTS.md: builds Release into ./build, then runs
# bench/compare.py (a cache line between the cores, training vs PyTorch, thread scaling, step
# time against catalogue size, retrieval vs Faiss, gemm vs OpenBLAS) and writes
# bench/RESULTS.md. About 45 minutes; --quick gives a smaller version (a smoke test of the whole
# chain, a few minutes).
# Installs what is missing first (the build's packages, python3-torch, python3-faiss, python3-numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_release.sh
/usr/bin/python3 bench/compare.py all "$@"
