#!/usr/bin/env python3
"""Dense-vector benchmark run: FAISS IndexFlatIP and numpy beside Memp's VectorBench, same data, one run.

The peers are measured by the anchors' own code (../shared/anchors/bench_dense.py, imported, not copied), so
the protocol is the anchors' exactly: 200 single queries one call each after 5 warm-up queries, k=10, the
median over 5 repetitions at 100k and 3 at 1M; all 1,000 queries in one call for the batch. Memory bandwidth
is the anchors' stream_read.c (gcc -O3 -march=native -fopenmp), measured at the start, just before
VectorBench and at the end, because this VM's 2-thread bandwidth moves between about 45 and 80 GB/s.

  ANCHORS_HOME=Benchmarks/data/anchors python3 dense_peers.py --vector-bench PATH --out RAW.json
  ... --peers-only        FAISS, numpy and bandwidth only (no VectorBench)
  ... --quick             smoke test: 1 rep, 20 single queries

Prints nothing on stdout; writes one JSON object to --out. Progress goes to stderr.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ANCHORS = os.environ.get("ANCHORS_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "anchors"))
if "ANCHORS_HOME" not in os.environ:
    sys.exit("dense_peers.py: set ANCHORS_HOME (where gen_data.py wrote data/), e.g. Benchmarks/data/anchors")
sys.path.insert(0, ANCHORS)

import numpy as np  # noqa: E402
import faiss  # noqa: E402

import bench_dense  # noqa: E402  (the anchors' measurement code)
from anchor_common import (LoadMonitor, blas_pools, cpu_info, eprint, openblas_env,  # noqa: E402
                           python_info, rnd, wait_quiet)
from gen_data import path_of, read_vecs, sha256_of  # noqa: E402

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)
STREAM_BYTES = 1_500_000_000


def bandwidth(quick):
    """The anchors' C stream-read figure, 1 and 2 threads (built into $ANCHORS_HOME/build)."""
    return bench_dense.bench_stream(3 if quick else 9, STREAM_BYTES, with_numpy=False)["c_stream_read"]


def peer_crossover(quick):
    """Queries/s against batch size over 100k, answering the same 256 queries in consecutive batches.

    FAISS scans with SIMD below `distance_compute_blas_threshold` queries per call and calls sgemm from there;
    numpy always multiplies (a matrix-vector product for one query)."""
    x = read_vecs(path_of("base_100k"))
    q = read_vecs(path_of("queries"))[:128 if quick else 256]
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    rows = []
    for b in BATCH_SIZES:
        chunks = [np.ascontiguousarray(q[s:s + b]) for s in range(0, len(q), b)]

        def run_faiss():
            for c in chunks:
                index.search(c, bench_dense.K)

        def run_numpy():
            for c in chunks:
                bench_dense.numpy_topk_batch(x, c, block=b)

        reps = 1 if quick else 3
        f, _ = bench_dense.time_batch(run_faiss, len(q), reps)
        n, _ = bench_dense.time_batch(run_numpy, len(q), reps)
        rows.append({"batch_size": b, "faiss_qps": f["qps"], "numpy_qps": n["qps"]})
    return {"queries": len(q), "faiss_blas_threshold": faiss.cvar.distance_compute_blas_threshold,
            "rows": rows}


def run_vector_bench(exe, args):
    """Runs VectorBench with `args`; returns its JSON, or an error record."""
    cmd = [exe, *args, "--data", os.path.dirname(path_of("queries"))]
    eprint("[vector] " + " ".join(os.path.basename(c) if c == exe else c for c in cmd))
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return {"error": f"exit status {r.returncode}", "command": cmd}
    out = json.loads(r.stdout)
    out["wall_seconds"] = rnd(time.perf_counter() - t0, 1)
    return out


def main():
    ap = argparse.ArgumentParser(description="dense-vector benchmark: FAISS, numpy and VectorBench")
    ap.add_argument("--vector-bench", help="path of the release VectorBench executable")
    ap.add_argument("--peers-only", action="store_true", help="skip VectorBench")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 rep, 20 single queries")
    ap.add_argument("--no-env-unset", action="store_true",
                    help="skip the extra peer run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset")
    ap.add_argument("--out", required=True, help="where to write the raw JSON")
    args = ap.parse_args()
    if not args.peers_only and not args.vector_bench:
        ap.error("--vector-bench is required unless --peers-only")

    quiet = wait_quiet(float(os.environ.get("ANCHORS_WAIT_QUIET_S", "300")))
    mon = LoadMonitor()
    t_start = time.perf_counter()
    q_all = read_vecs(path_of("queries"))
    n_single = 20 if args.quick else 200
    reps = {"100k": 1, "1m": 1} if args.quick else {"100k": 5, "1m": 3}
    result = {
        "bench": "dense_peers.py + VectorBench",
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        **python_info(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "faiss_compile_options": faiss.get_compile_options().strip(),
        "cpu": cpu_info(),
        "openblas_env": openblas_env(),
        "threadpools": blas_pools(),
        "machine_quiet_at_start": quiet,
        "params": {"dim": int(q_all.shape[1]), "k": bench_dense.K, "single_queries": n_single,
                   "batch_queries": int(q_all.shape[0]), "reps": reps,
                   "queries_sha256": sha256_of(path_of("queries"))},
    }

    quiet_wait = float(os.environ.get("ANCHORS_WAIT_QUIET_S", "300"))
    phases = result["load_by_phase"] = {}

    def phase(name, run):
        """Waits for an idle machine again (other engineers' builds come and go), then runs `run` and
        records how much CPU other processes took meanwhile, so each side's figures carry their own load."""
        wait_quiet(quiet_wait)
        mon_phase = LoadMonitor()
        out = run()
        phases[name] = mon_phase.report()
        return out

    eprint("[dense] memory bandwidth (start)")
    result["bandwidth_start"] = bandwidth(args.quick)
    eprint("[dense] FAISS and numpy")
    result["faiss_flat_ip"], result["numpy_exact"] = phase("peers", lambda: bench_dense.bench_sizes(
        q_all, reps, n_single, (None, 1), ("100k", "1m")))
    eprint("[dense] FAISS and numpy: batch-size sweep")
    result["peer_crossover_100k"] = phase("peer_crossover", lambda: peer_crossover(args.quick))

    if not args.peers_only:
        exe = os.path.abspath(args.vector_bench)
        quick = ["--quick"] if args.quick else []
        index_path = os.path.join(os.environ["ANCHORS_HOME"], "flat_1m_f32.memp")
        eprint("[dense] memory bandwidth (before VectorBench)")
        result["bandwidth_before_ours"] = bandwidth(args.quick)
        ours = {"100k": phase("ours_100k", lambda: run_vector_bench(exe, ["search", "--size", "100k", *quick]))}
        ours["1m"] = phase("ours_1m", lambda: run_vector_bench(
            exe, ["search", "--size", "1m", "--save", index_path, *quick]))
        if "error" not in ours["1m"]:
            ours["open_1m"] = phase("ours_open_1m", lambda: run_vector_bench(
                exe, ["open", "--size", "1m", "--index", index_path, *quick]))
            os.remove(index_path)
        result["ours"] = ours

    eprint("[dense] memory bandwidth (end)")
    result["bandwidth_end"] = bandwidth(args.quick)
    result["machine_load"] = mon.report()
    if not args.no_env_unset:
        eprint("[dense] peers again with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (anchors' child run)")
        child = bench_dense.run_child_env_unset(argparse.Namespace(quick=args.quick))
        child["note"] = ("bench_dense.py's own child run: a separate process whose environment lacks "
                         "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE; default thread counts only")
        result["openblas_env_unset"] = child
    result["seconds_total"] = rnd(time.perf_counter() - t_start, 1)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    eprint(f"[dense] wrote {args.out}")


if __name__ == "__main__":
    main()
