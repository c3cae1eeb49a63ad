#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "N passed, N failed".
# Exits non-zero if any test failed or a test run did not complete.
set -uo pipefail
cd "$(dirname "$0")"

bash eng/install-prereqs.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT

dotnet test MarketStream.sln "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One summary line per test project, e.g. "Passed!  - Failed:     0, Passed:    62, Skipped:     0, ..."
passed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Passed: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed.*/\1/' | awk '{s+=$1} END {print s+0}')
projects=$(grep -cE '^(Passed|Failed)!' "$log")

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build failed or a test host crashed before it could report: count that as a failure.
  echo "The test run did not complete (dotnet test exited with $status after $projects project summaries)."
  failed=1
fi

echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
