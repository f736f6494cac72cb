#!/bin/sh
# run.sh measures m365kit against msgraph-sdk-go and a plain net/http +
# encoding/json loop and prints a Markdown table of medians and ratios.
#
#   bench/run.sh                 full run: 10,000 and 100,000 items, 5 runs, cold builds
#   bench/run.sh -quick          10,000 items, one run of everything
#   bench/run.sh -quick -msgraph=false -cold=false
#                                what TestRunQuick runs: no msgraph-sdk-go leg, warm builds
#   bench/run.sh -out RESULTS.md also write the table to a file
#
#   bench/run.sh -kit DIR        build against a snapshot of m365kit (git archive HEAD) instead of ../
# Any other flag goes to cmd/benchrun (go run ./cmd/benchrun -h lists them).
# Modules must already be downloaded (cold builds run with GOPROXY=off);
# `go mod download` in bench/ does that. Everything runs under nice.
set -eu
cd "$(dirname "$0")"
bin="${TMPDIR:-/tmp}/m365kit-benchrun.$$"
trap 'rm -f "$bin"' EXIT INT TERM
nice go build -o "$bin" ./cmd/benchrun
"$bin" "$@"
