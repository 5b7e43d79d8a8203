#!/usr/bin/env bash
# Checks that layers point one way (docs/ARCHITECTURE.md, "Layers"): every #include of a project header
# must go down or sideways as allowed below. Prints each back edge as FILE:LINE: what it includes and
# why that is not allowed; exit 1 if there is any. Run by ctest (test `layers`, label unit).
#   common/     includes only common/
#   models/     common/, models/ and the contract headers firmware/hal/{hal,trap,scheduler}.hpp
#   firmware/   common/ and firmware/
#   testbench/  common/, models/, testbench/
#   platform/   anything but apps/
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
status=0
check() {  # check DIR ALLOWED_REGEX WHY
  local dir="$1" allowed="$2" why="$3"
  [ -d "$dir" ] || return 0
  while IFS= read -r hit; do
    file="${hit%%:*}"
    rest="${hit#*:}"
    line="${rest%%:*}"
    inc="$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${rest#*:}")"
    case "$inc" in
      */*) ;;
      *) continue ;;  # a header beside the file
    esac
    top="${inc%%/*}"
    case "$top" in
      common|models|firmware|platform|testbench|apps) ;;
      *) continue ;;  # not a project layer (generated headers, third-party paths)
    esac
    if ! grep -qE "$allowed" <<<"$inc"; then
      echo "$file:$line: includes \"$inc\": $why"
      status=1
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$dir" --include='*.hpp' --include='*.cpp' --include='*.h' || true)
}
check common '^common/' "common/ is the bottom layer and includes only common/"
check models '^(common/|models/|firmware/hal/(hal|trap|scheduler)\.hpp$)' \
  "models/ (hardware) may include common/, models/ and the contract interfaces (firmware/hal/) only"
check firmware '^(common/|firmware/)' "firmware/ (the OS) may include common/ and firmware/ only"
check testbench '^(common/|models/|testbench/|firmware/hal/)' \
  "testbench/ depends on models/ and common/, never on firmware/, platform/ or apps/"
check platform '^(common/|models/|firmware/|testbench/|platform/)' "platform/ never includes apps/"
if [ "$status" -eq 0 ]; then echo "layers: no back edges"; fi
exit "$status"
