#!/usr/bin/env bash
# Builds detour's libFuzzer targets (clang, ASan+UBSan, a build dir of their own), replays every
# file of tests/fuzz/corpus/<target>/, then fuzzes each target for a while. Exits non-zero when
# a corpus file fails or fuzzing finds a crash, and says where the input is. docs/fuzzing.md.
#
# Usage: tests/fuzz/run.sh [--seconds N] [--build-dir DIR] [--jobs J] [--targets a,b]
#   --seconds N     fuzz each target N seconds (default 60; 0: replay only)
#   --build-dir D   the fuzz build dir (default build-fuzz, as the `fuzz` preset)
#   --jobs J        targets fuzzed at once (default: the number of cores); one core each
#   --targets a,b   only these targets (default: all five)
# Compilers: DETOUR_FUZZ_CC / DETOUR_FUZZ_CXX (default clang / clang++; libFuzzer needs clang).
# Output (replaced on each run): D/fuzz-run/logs/, D/fuzz-run/artifacts/ (crash inputs),
# D/fuzz-run/corpus/<target>/ (units found by this run; the committed corpus is never written).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds=60
build_dir="$root/build-fuzz"
jobs="$(nproc)"
targets=(http_request_fuzz http_response_fuzz config_fuzz rule_matcher_fuzz template_fuzz)

while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --targets) IFS=, read -r -a targets <<<"$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "run.sh: --seconds wants a number" >&2; exit 2; }
((jobs >= 1)) || jobs=1

# Not CC/CXX: those may name the compiler of the main (GCC) build.
cc="${DETOUR_FUZZ_CC:-clang}"
cxx="${DETOUR_FUZZ_CXX:-clang++}"
if ! command -v "$cxx" >/dev/null 2>&1 || ! command -v "$cc" >/dev/null 2>&1; then
  echo "run.sh: $cxx not found: install clang and libclang-rt-14-dev" \
       "(scripts/install-deps.sh --test)" >&2
  exit 2
fi

dict_for() {
  case "$1" in
    config_fuzz) echo "$root/tests/fuzz/yaml.dict" ;;
    *) echo "$root/tests/fuzz/http.dict" ;;
  esac
}

start=$SECONDS
echo "== fuzz build in $build_dir ($cxx)"
mkdir -p "$build_dir"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DDETOUR_FUZZ=ON -DDETOUR_BUILD_TESTS=OFF >"$build_dir/configure.log" 2>&1 || {
  cat "$build_dir/configure.log" >&2
  exit 1
}
cmake --build "$build_dir" --target detour_fuzzers -j"$(nproc)"
echo "   built in $((SECONDS - start)) s"

run_dir="$build_dir/fuzz-run"
rm -rf "$run_dir"
mkdir -p "$run_dir/logs" "$run_dir/artifacts" "$run_dir/corpus" "$run_dir/seeds"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
failed=0

# The line that says what went wrong, from a libFuzzer log.
first_report() {
  grep -m1 -E "fuzz invariant failed|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ERROR: libFuzzer|==ERROR" "$1" || true
}

# --- replay: every committed corpus file must pass ---------------------------------------------
for t in "${targets[@]}"; do
  bin="$build_dir/tests/fuzz/$t"
  corpus="$root/tests/fuzz/corpus/$t"
  log="$run_dir/logs/replay-$t.log"
  n=$(find "$corpus" -type f | wc -l)
  t0=$SECONDS
  if "$bin" -runs=0 -timeout=120 -rss_limit_mb=4096 \
       -artifact_prefix="$run_dir/artifacts/replay-$t-" "$corpus" >"$log" 2>&1; then
    echo "replay $t: $n files OK ($((SECONDS - t0)) s)"
    mkdir -p "$run_dir/seeds/$t"
    cp "$corpus"/* "$run_dir/seeds/$t/"
    continue
  fi
  # libFuzzer stops at the first failure: run the files one by one to name every failing one.
  mkdir -p "$run_dir/seeds/$t"
  for f in "$corpus"/*; do
    one="$run_dir/logs/replay-$t-$(basename "$f").log"
    if "$bin" -timeout=120 -rss_limit_mb=4096 "$f" >"$one" 2>&1; then
      cp "$f" "$run_dir/seeds/$t/"
      rm -f "$one"
    else
      failed=1
      echo "replay $t: FAILED on $f"
      echo "    $(first_report "$one")"
      echo "    log: $one"
    fi
  done
  echo "replay $t: done ($((SECONDS - t0)) s)"
done

# --- fuzz: each target N seconds, J at a time --------------------------------------------------
fuzz_one() {
  local t="$1"
  local bin="$build_dir/tests/fuzz/$t"
  local log="$run_dir/logs/fuzz-$t.log"
  mkdir -p "$run_dir/corpus/$t"
  # Seeds: the committed corpus minus the files that failed the replay (reported already) and
  # minus crash-* files (regressions, replayed above; some are slow on purpose).
  find "$run_dir/seeds/$t" -name 'crash-*' -delete
  local rc=0
  "$bin" "$run_dir/corpus/$t" "$run_dir/seeds/$t" -dict="$(dict_for "$t")" \
    -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$run_dir/artifacts/$t-" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$run_dir/logs/fuzz-$t.rc"
}

if ((seconds > 0)); then
  echo "== fuzzing ${#targets[@]} targets, $seconds s each, $jobs at a time"
  for t in "${targets[@]}"; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    fuzz_one "$t" &
  done
  wait
  for t in "${targets[@]}"; do
    log="$run_dir/logs/fuzz-$t.log"
    rc=$(cat "$run_dir/logs/fuzz-$t.rc" 2>/dev/null || echo 1)
    runs=$(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
    if [[ "$rc" == 0 ]]; then
      echo "fuzz $t: OK, ${runs:-?} runs, ${cov:-no coverage line}"
    else
      failed=1
      echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs"
      echo "    $(first_report "$log")"
      grep -o 'Test unit written to .*' "$log" | sed 's/^/    /' || true
      echo "    log: $log"
      bin="$build_dir/tests/fuzz/$t"
      echo "    reproduce: $bin <input>   minimize: $bin -minimize_crash=1 -max_total_time=60 <input>"
    fi
  done
fi

echo "== done in $((SECONDS - start)) s; logs in $run_dir/logs"
exit "$failed"
