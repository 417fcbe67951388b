#!/usr/bin/env bash
# The official MCP Python SDK: the tests drive `memp serve` with it over stdio and streamable HTTP.
set -euo pipefail
python3 -c "import mcp" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check mcp
