#!/usr/bin/env bash
# The main job: set up (apt, venv, build) and run the tile study, printing its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m mho.tile_study "$@"
