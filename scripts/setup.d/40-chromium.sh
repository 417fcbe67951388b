#!/usr/bin/env bash
# Headless Chromium renders the `memp eval --report` HTML in a test that screenshots it and checks it is not blank.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get install -y -qq chromium >/dev/null
