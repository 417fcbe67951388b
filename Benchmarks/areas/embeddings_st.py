"""sentence-transformers side of the embeddings area, through the shared anchor (shared/anchors/bench_embed.py).

    python3 embeddings_st.py sentences N            # writes the anchor's N task-like sentences, one per line
    python3 embeddings_st.py bench MODEL_DIR [--threads 2] [--n 2000] [--repeats 3] [--wait-quiet S]
The bench prints the anchor's JSON plus this process's peak resident memory (VmHWM) as `peak_rss_bytes`.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ["REPO_ROOT"], "..", "shared", "anchors"))
import bench_embed  # noqa: E402


def peak_rss_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if sys.argv[1] == "sentences":
    print("\n".join(bench_embed.make_sentences(int(sys.argv[2]))))
else:
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("mode")
    parser.add_argument("model_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wait-quiet", type=float, default=0)
    args = parser.parse_args()
    result = bench_embed.bench(args.model_dir, args.threads, args.n, args.repeats, args.wait_quiet)
    result["peak_rss_bytes"] = peak_rss_bytes()
    print(json.dumps(result))
