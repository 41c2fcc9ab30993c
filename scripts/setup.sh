#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test mind.cpp (compiler, CMake,
# xsimd, doctest, CLI11, nlohmann-json, Google Benchmark, OpenBLAS for one benchmark), then configures the
# Release build in ./build. Packages already present are left alone; nothing else is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake libxsimd-dev doctest-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev libopenblas-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed=()
  [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
  "${sudo_if_needed[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -q "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build-configure.log 2>&1 || { cat build-configure.log; exit 1; }
rm -f build-configure.log
cmake --build build -j "$(nproc)"
