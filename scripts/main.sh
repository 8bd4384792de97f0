#!/usr/bin/env bash
# The main job: set up (apt, venv, build) and run the accuracy study of the shipped LeNet-5 on
# MNIST on an RRAM design over 10 simulated chips, with an ADC-resolution sweep; prints the
# report. Options are passed on (python -m mho.study --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec .venv/bin/python -m mho.study "$@"
