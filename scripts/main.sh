#!/usr/bin/env bash
# The main job: set up (apt, venv, build) and run the study in examples/configs/lenet5_mnist.yaml:
# the shipped LeNet-5 on MNIST on an RRAM design over 10 simulated chips -- accuracy, energy,
# area, latency, the digital baseline beside it, and an ADC-resolution sweep. Prints the report
# and writes results/lenet5_mnist.{json,h5} and PNG plots. Another config can be given:
#   bash scripts/main.sh path/to/study.yaml [mho run options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
if (($#)); then
  exec .venv/bin/mho run "$@"
fi
exec .venv/bin/mho run examples/configs/lenet5_mnist.yaml
