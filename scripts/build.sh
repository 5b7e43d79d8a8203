#!/usr/bin/env bash
# Configures and builds vmsim in build/ (extra arguments go to cmake's configure step).
set -euo pipefail
cd "$(dirname "$0")/.."
export SYSTEMC_INCLUDE="${SYSTEMC_INCLUDE:-/usr/include}"
export SYSTEMC_LIBDIR="${SYSTEMC_LIBDIR:-/usr/lib/x86_64-linux-gnu}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j "$(nproc)"
