#!/usr/bin/env bash
# Compares two recordings made by scripts/record-runs.sh: every stats.json, memory.txt and
# working_set.csv, and the printed summary less its host-time lines, must be byte-identical. Prints each difference; exit 1 if any.
# Usage: scripts/compare-runs.sh OLD_DIR NEW_DIR
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 OLD_DIR NEW_DIR" >&2
  exit 2
fi
old="$1"
new="$2"
compared=0
differ=0
while IFS= read -r f; do
  rel="${f#"$old"/}"
  case "$rel" in
    *stats.json|*memory.txt|*working_set.csv|*.stdout) ;;
    *) continue ;;
  esac
  compared=$((compared + 1))
  if [ ! -f "$new/$rel" ]; then
    echo "missing in $new: $rel"
    differ=$((differ + 1))
  elif [[ "$rel" == *.stdout ]]; then
    # The printed summary, less its host-time lines (they measure the machine, not the model) and the
    # line naming the output folder.
    if ! cmp -s <(grep -vE '^  (host|CPU) |^wrote ' "$f") <(grep -vE '^  (host|CPU) |^wrote ' "$new/$rel"); then
      echo "differs: $rel"
      differ=$((differ + 1))
    fi
  elif ! cmp -s "$f" "$new/$rel"; then
    echo "differs: $rel"
    differ=$((differ + 1))
  fi
done < <(find "$old" -type f | sort)
echo "compare-runs: $compared files compared, $differ differ"
[ "$differ" -eq 0 ]
