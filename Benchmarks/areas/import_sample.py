#!/usr/bin/env python3
"""Issue 16, goal 3: times `memp init` + `memp import` of the sample, a new store each run: 1 warm-up + N runs;
wall time, CPU time of the two processes, peak resident memory.

Usage: python3 Benchmarks/areas/import_sample.py path/to/memp [RUNS]   (RUNS defaults to 7)
"""
import os, resource, shutil, statistics, subprocess, sys, tempfile, time
memp, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "textworld-sample", "trajectories.jsonl")
rows = []
for i in range(runs + 1):
    d = tempfile.mkdtemp(); s = d + "/mem"
    load = open("/proc/loadavg").read().split()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([memp, "init", "--store", s], check=True, capture_output=True)
    out = subprocess.run([memp, "import", "--store", s, data], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if i: rows.append((wall, cpu, load))
    print(f"run {i}{' (warm-up)' if i == 0 else ''}: wall {wall:.2f} s cpu {cpu:.2f} s load {load} | {out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip().splitlines()[-1]}", flush=True)
    shutil.rmtree(d)
w = [r[0] for r in rows]; c = [r[1] for r in rows]
print(f"median wall {statistics.median(w):.2f} s (min {min(w):.2f}, max {max(w):.2f}); median cpu {statistics.median(c):.2f} s; peak RSS children {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024:.0f} MiB")
