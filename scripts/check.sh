#!/usr/bin/env bash
# The static checks of `npm test`: ESLint, Prettier and the type-check run side by side (each is
# single-threaded, and CI has two cores); the script fails if any of them fails, after all three
# have finished and printed what they found.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin

"$bin/eslint" . &
eslint=$!
"$bin/prettier" --check . --log-level warn &
prettier=$!
"$bin/tsc" --noEmit -p . &
tsc=$!

status=0
wait "$eslint" || { echo "check: eslint failed" >&2; status=1; }
wait "$prettier" || { echo "check: prettier found files to format (npm run format)" >&2; status=1; }
wait "$tsc" || { echo "check: the type-check failed" >&2; status=1; }
exit "$status"
