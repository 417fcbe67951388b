#!/usr/bin/env bash
# Installs everything Memp's build, tests and demo need on a fresh Debian 12 machine with Swift.
# Each area of the project adds its own steps as scripts/setup.d/NN-name.sh; they run in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
# Setups at once (the demo beside a test run) take turns: apt-get refuses to run while another holds its lock.
exec 9>"${TMPDIR:-/tmp}/memp-setup.lock"
flock 9
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    libblas-dev liblapacke-dev libopenblas-dev libopenblas0 libsqlite3-dev python3-pip >/dev/null
for step in scripts/setup.d/*.sh; do
    [ -e "$step" ] || continue
    echo "[setup] $step" >&2
    bash "$step"
done
