"""sentence-transformers peer for EmbeddingBench: same sentences, same model files, same measurements.

Usage: python3 embeddings_st.py SENTENCES_FILE MODEL_DIR [--threads 2] [--repeats 3] [--vectors-out PATH]
Prints one JSON object like EmbeddingBench's.
"""
import argparse
import json
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("sentences")
parser.add_argument("model_dir")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

torch.set_num_threads(args.threads)
sentences = [line for line in open(args.sentences, encoding="utf-8").read().split("\n") if line]
start = time.perf_counter()
model = SentenceTransformer(args.model_dir, device="cpu")
load_seconds = time.perf_counter() - start
model.encode(sentences[:64], batch_size=32)  # warm-up

batch_rates = []
for _ in range(args.repeats):
    start = time.perf_counter()
    model.encode(sentences, batch_size=32, normalize_embeddings=True)
    batch_rates.append(len(sentences) / (time.perf_counter() - start))
single_rates, latencies = [], []
for _ in range(args.repeats):
    start = time.perf_counter()
    for sentence in sentences:
        call = time.perf_counter()
        model.encode([sentence], batch_size=1, normalize_embeddings=True)
        latencies.append(time.perf_counter() - call)
    single_rates.append(len(sentences) / (time.perf_counter() - start))
latencies.sort()


def percentile(p):
    return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000


peak = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) * 1024
print(json.dumps({
    "implementation": f"sentence-transformers (torch {torch.__version__})",
    "sentences": len(sentences),
    "threads": torch.get_num_threads(),
    "load_seconds": load_seconds,
    "batch32_sentences_per_second": max(batch_rates),
    "batch1_sentences_per_second": max(single_rates),
    "latency_ms_p50": percentile(50),
    "latency_ms_p95": percentile(95),
    "latency_ms_p99": percentile(99),
    "peak_rss_bytes": peak,
}, sort_keys=True))
