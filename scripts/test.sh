#!/usr/bin/env bash
# test.sh: set up the machine, build, and run every test suite, then the
# unit and kat suites again under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the fuzzers for a bounded time. Ends with "N passed, M failed".
#
#   scripts/test.sh            everything
#   SUITES="unit kat" scripts/test.sh   only these suites in the main build
#   SKIP_SANITIZERS=1 / SKIP_FUZZ=1     leave those stages out
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }

passed=0
failed=0
failed_names=()

# run_suites BUILD_DIR LABEL SUITE... runs meson test and adds up its results.
run_suites() {
  local dir=$1 label=$2
  shift 2
  local args=()
  for s in "$@"; do args+=(--suite "$s"); done
  run_meson_test "$dir" "$label" "${args[@]}"
}

# run_meson_test BUILD_DIR LABEL [meson test args...] runs and counts.
run_meson_test() {
  local dir=$1 label=$2
  shift 2
  local args=("$@")
  echo "== $label: meson test ${args[*]}"
  local log="$dir/meson-logs/testlog.json"
  rm -f "$log"  # a stale log must not count
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${args[@]}"
  if [[ -f $log ]]; then
    local p f
    p=$(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")
    f=$(jq -s '[.[] | select(.result != "OK" and .result != "EXPECTEDFAIL" and .result != "SKIP")] | length' "$log")
    local s
    s=$(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")
    if ((s > 0)); then
      echo "test: $s test(s) skipped in $label, counted as failures" >&2
      f=$((f + s))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    while read -r n; do failed_names+=("$label/$n"); done < <(jq -rs '.[] | select(.result != "OK" and .result != "EXPECTEDFAIL") | .name' "$log")
  else
    failed=$((failed + 1))
    failed_names+=("$label (no test log)")
  fi
}

# build DIR [meson options...] configures once and builds.
build() {
  local dir=$1
  shift
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" || return 1
}

# test_targets DIR SUITE...: the ninja targets that the tests of these
# suites run, so a sanitizer or fuzzing build compiles only those (the
# release build compiles everything). Printed one per line.
test_targets() {
  local dir=$1
  shift
  local suites ids
  suites=$(printf '"portcullis:%s",' "$@")
  ids=$(meson introspect "$dir" --tests |
    jq -c "[.[] | select(any(.suite[]; . as \$x | [${suites%,}] | index(\$x))) | .depends[]] | unique") || return 1
  meson introspect "$dir" --targets | jq -r --argjson ids "$ids" --arg dir "$(cd "$dir" && pwd)/" \
    '.[] | select(.id as $i | $ids | index($i)) | .filename[0] | ltrimstr($dir)'
}

# build_for DIR SUITES [meson options...] configures once and builds only
# what the suites' tests need (SUITES is one space-separated word).
build_for() {
  local dir=$1 suites=$2
  shift 2
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  local targets
  # shellcheck disable=SC2086
  targets=$(test_targets "$dir" $suites) || return 1
  [[ -n $targets ]] || { echo "test: no test targets in $dir for: $suites" >&2; return 1; }
  # shellcheck disable=SC2086
  ninja -C "$dir" $targets || return 1
}

echo "== build (release)"
if build build --buildtype=release -Dwerror=true; then
  suites=${SUITES:-"unit kat e2e interop"}
  # Only suites that have tests registered: meson errors on unknown suites.
  present=()
  for s in $suites; do
    # Read the whole list first: grep -q stopping early would kill meson
    # with SIGPIPE, and pipefail would then drop the suite.
    list=$(meson test -C build --list --suite "$s" 2>/dev/null)
    if grep -q ' / ' <<<"$list"; then
      present+=("$s")
    else
      failed=$((failed + 1)); failed_names+=("suite $s: no tests listed")
    fi
  done
  run_suites build release "${present[@]}"
else
  failed=$((failed + 1)); failed_names+=("release build")
fi

if [[ -z ${SKIP_SANITIZERS:-} ]]; then
  echo "== build (ASan + UBSan)"
  # GCC's -Wmaybe-uninitialized misfires under the sanitizers' instrumentation
  # (std::variant in particular); the release build keeps it as an error.
  # -O1 and line-tables-only debug info (-g1, which comes after meson's -g
  # and wins) compile this stage in ~42% of the CPU time of -O2 -g; the
  # reports still name every frame's function and file:line, inlined ones
  # included. b_ndebug=false keeps asserts on: with optimization/debug set,
  # meson leaves buildtype at the project's default (release), and
  # b_ndebug=if-release would then add -DNDEBUG.
  # Meson's -fno-omit-frame-pointer stays: it costs no compile time, and
  # without it the allocated-by/freed-by stacks come out cut short.
  if build_for build-asan "unit kat" -Doptimization=1 -Ddebug=true -Db_ndebug=false \
    -Dwerror=true -Db_lto=false -Db_sanitize=address,undefined \
    '-Dcpp_args=-Wno-maybe-uninitialized -g1'; then
    run_meson_test build-asan asan-ubsan --no-rebuild --suite unit --suite kat
  else
    failed=$((failed + 1)); failed_names+=("sanitizer build")
  fi
fi

if [[ -z ${SKIP_SANITIZERS:-} ]]; then
  # The table publisher's reader/writer test and the telemetry mailbox under
  # ThreadSanitizer; only those targets are built.
  echo "== build (TSan: rcu, telemetry_mailbox)"
  if [[ -f build-tsan/build.ninja ]] || meson setup build-tsan --buildtype=debugoptimized -Db_lto=false -Db_sanitize=thread >/dev/null; then
    if ninja -C build-tsan tests/unit/agent/unit_rcu tests/unit/agent/unit_telemetry_mailbox; then
      run_meson_test build-tsan tsan --no-rebuild rcu telemetry_mailbox
    else
      failed=$((failed + 1)); failed_names+=("tsan build")
    fi
  else
    failed=$((failed + 1)); failed_names+=("tsan setup")
  fi
fi

if [[ -z ${SKIP_FUZZ:-} ]]; then
  echo "== build (libFuzzer, clang)"
  if CC=clang CXX=clang++ build_for build-fuzz fuzz --buildtype=debugoptimized -Db_lto=false -Dfuzzing=true \
    -Db_lundef=false; then
    list=$(meson test -C build-fuzz --list --suite fuzz 2>/dev/null)
    if grep -q ' / ' <<<"$list"; then
      run_meson_test build-fuzz fuzz --no-rebuild --suite fuzz
    else
      failed=$((failed + 1)); failed_names+=("fuzz: no targets listed")
    fi
  else
    failed=$((failed + 1)); failed_names+=("fuzz build")
  fi
fi

echo
if ((failed > 0)); then
  echo "Failed:"
  printf '  %s\n' "${failed_names[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
