# Sourced by bench/run_all.sh and bench/compare_training.sh (from the repository root): installs
# what is missing (scripts/setup.sh, then Debian's python3-torch, python3-faiss, python3-numpy), then builds the programs the comparisons run, Release, in ./build
# (or in $MIND_BENCH_BUILD, which bench/compare.py then reads too).
build_dir="${MIND_BENCH_BUILD:-build}"
./scripts/setup.sh  # the build's own packages, as for the tests
missing=()
for package in python3-torch python3-faiss python3-numpy; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]} (the PyTorch and Faiss side of the comparisons)"
  sudo_if_needed=()
  [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
  "${sudo_if_needed[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -q "${missing[@]}"
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release > /dev/null
targets=(mind_train dump_batches bench_retrieval core_to_core)
# (the target list is read whole first: `grep -q` stopping early would fail the pipe under pipefail)
target_list="$(cmake --build "$build_dir" --target help)"
if [[ "$target_list" == *bench_gemm_openblas* ]]; then targets+=(bench_gemm_openblas); fi
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
