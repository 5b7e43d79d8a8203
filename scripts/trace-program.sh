#!/usr/bin/env bash
# Records a valgrind lackey memory trace of any program, for replay by vmsim.
# Usage: scripts/trace-program.sh OUTPUT.lackey -- PROGRAM [ARGS...]
# Example: scripts/trace-program.sh out/traces/program.lackey -- sort /etc/services
set -euo pipefail
if [ $# -lt 3 ] || [ "$2" != "--" ]; then
  echo "usage: $0 OUTPUT.lackey -- PROGRAM [ARGS...]" >&2
  exit 2
fi
out="$1"
shift 2
command -v valgrind >/dev/null || { echo "valgrind is missing: run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
valgrind --tool=lackey --trace-mem=yes --log-file="$out" "$@" >/dev/null
echo "wrote $out ($(wc -l <"$out") lines)" >&2
