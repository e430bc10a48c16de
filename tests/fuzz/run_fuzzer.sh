#!/bin/sh
# run_fuzzer.sh FUZZER CORPUS SECONDS ARTIFACT_PREFIX: runs a libFuzzer
# target for a bounded time on a scratch copy of CORPUS, so that the inputs
# it finds do not land among the checked-in seeds. A crash, leak or failed
# invariant is saved as ARTIFACT_PREFIX<kind>-<hash> and fails the test.
set -eu
fuzzer=$1
corpus=$2
seconds=$3
prefix=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cp -R "$corpus"/. "$work"/
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$prefix" "$work"
