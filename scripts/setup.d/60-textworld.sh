#!/usr/bin/env bash
# TextWorldExpress (PyPI textworld-express, a JVM driven through py4j) for the memory-effect experiment
# (scripts/memory_effect.py) and its end-to-end test; java comes from Debian's openjdk-17-jre-headless.
set -euo pipefail
if ! command -v java >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    # The JRE's post-install scripts expect the man directory that slim images leave out.
    $SUDO mkdir -p /usr/share/man/man1
    $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi
python3 -c "import textworld_express" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check textworld-express
