#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test (unit, model, system, cosim, browser, slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
