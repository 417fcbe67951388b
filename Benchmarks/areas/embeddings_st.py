"""sentence-transformers side of the embeddings area, and the inputs both sides embed.

    python3 embeddings_st.py sentences N            # the shared anchor's N task-like sentences, one per line
    python3 embeddings_st.py sample-tasks FILE [N]  # the (first N) task texts of a trajectories.jsonl, one a line
    python3 embeddings_st.py long N                 # N generated texts of 100-250 tokens (anchor sentences joined)
    python3 embeddings_st.py bench MODEL_DIR FILE [--threads 2] [--repeats 3]
    python3 embeddings_st.py sgemm                  # this machine's float32 matrix product rate (numpy/OpenBLAS)
`bench` measures like the shared anchor (shared/anchors/bench_embed.py) on the texts of FILE: batch 32 is one
encode() call over all texts (median of the passes), batch 1 one call per text. It prints JSON with this
process's peak resident memory (VmHWM) as `peak_rss_bytes` and the token count of every text.
"""
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.environ["REPO_ROOT"], "..", "shared", "anchors"))
import bench_embed  # noqa: E402


def peak_rss_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def long_texts(n, seed=4321):
    """Texts of about 100-250 tokens: the anchor's sentences joined with periods (about 1.25 tokens a word)."""
    rng = random.Random(seed)
    pool = bench_embed.make_sentences(4000, seed=seed)
    texts = []
    for _ in range(n):
        target_words = rng.randint(80, 200)
        words = []
        while len(words) < target_words:
            words += (rng.choice(pool) + ".").split()
        texts.append(" ".join(words[:target_words]))
    return texts


def bench(model_dir, path, threads, repeats):
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    texts = read_lines(path)
    n = len(texts)
    tokens = [min(len(model.tokenizer(t)["input_ids"]), model.max_seq_length) for t in texts]
    kw = dict(convert_to_numpy=True, show_progress_bar=False)
    load_start = os.getloadavg()
    with torch.inference_mode():
        model.encode(texts[:64], batch_size=32, **kw)  # warm-up
        for t in texts[:32]:
            model.encode(t, **kw)
        b32 = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.encode(texts, batch_size=32, **kw)
            b32.append(time.perf_counter() - t0)
        lat = []
        t_all = time.perf_counter()
        for t in texts:
            t0 = time.perf_counter()
            model.encode(t, batch_size=1, **kw)
            lat.append(time.perf_counter() - t0)
        b1_total = time.perf_counter() - t_all
    lat_sorted = sorted(lat)
    return {
        "implementation": "sentence-transformers",
        "threads": threads,
        "n_sentences": n,
        "tokens": tokens,
        "tokens_per_sentence_mean": statistics.mean(tokens),
        "batch32_sentences_per_s": n / statistics.median(b32),
        "batch1_sentences_per_s": n / b1_total,
        "latency_ms_median": 1000 * statistics.median(lat),
        "latency_ms_p90": 1000 * lat_sorted[int(0.90 * n)],
        "peak_rss_bytes": peak_rss_bytes(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "versions": {"torch": torch.__version__,
                     "sentence_transformers": __import__("sentence_transformers").__version__},
    }


def sgemm_rate():
    """Best float32 matrix product rate (GFLOP/s) over square and MiniLM-shaped products: numpy on its OpenBLAS,
    in the environment as given (OpenBLAS's default is one thread per core)."""
    import numpy as np
    rng = np.random.default_rng(7)
    shapes = [(1024, 1024, 1024), (4800, 384, 1536), (150, 384, 1536)]
    results = {}
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        a @ b
        best = float("inf")
        for _ in range(7):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
        results[f"{m}x{k}x{n}"] = 2 * m * k * n / best / 1e9
    return {"gflops": results, "best_gflops": max(results.values()),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
            "loadavg": os.getloadavg(), "numpy": np.__version__}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sentences":
        print("\n".join(bench_embed.make_sentences(int(sys.argv[2]))))
    elif mode == "sample-tasks":
        with open(sys.argv[2], encoding="utf-8") as f:
            tasks = [" ".join(json.loads(line)["task"].split()) for line in f if line.strip()]
        print("\n".join(tasks[:int(sys.argv[3])] if len(sys.argv) > 3 else tasks))
    elif mode == "long":
        print("\n".join(long_texts(int(sys.argv[2]))))
    else:
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("mode")
        parser.add_argument("args", nargs="*")
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--repeats", type=int, default=3)
        options = parser.parse_args()
        if mode == "bench":
            print(json.dumps(bench(options.args[0], options.args[1], options.threads, options.repeats)))
        elif mode == "sgemm":
            print(json.dumps(sgemm_rate()))
        else:
            sys.exit(f"unknown mode {mode}")
