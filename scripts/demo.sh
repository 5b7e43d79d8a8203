#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the default simulation.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./build/vmsim run configs/presets/default.yaml --out out/default "$@"
