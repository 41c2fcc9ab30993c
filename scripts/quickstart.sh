#!/usr/bin/env bash
# The README's first command: set up, build, and train MIND on the synthetic dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./build/mind_train "$@"
