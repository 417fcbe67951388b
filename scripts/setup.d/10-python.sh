#!/usr/bin/env bash
# numpy writes the demo's vector files.
set -euo pipefail
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check numpy
