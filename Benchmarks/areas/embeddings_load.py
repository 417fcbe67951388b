"""Wall time of `memp import` (data/textworld-sample into a new MiniLM store) and of a 64-text `memp embed`,
on the machine as it is and again beside two CPU-bound busy processes, in the environment as given.

    python3 embeddings_load.py MEMP_BINARY SAMPLE_DIR WORK_DIR [--runs 3]
Each figure is the median of the runs. The busy processes (`python3 -c 'while True: pass'`) are started just
before and killed by PID just after the loaded runs. Prints one JSON object.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def import_once(memp, sample, work, index):
    store = os.path.join(work, f"store-{index}")
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([memp, "init", "--store", store, "--embedder", "minilm"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = timed([memp, "import", "--store", store, os.path.join(sample, "trajectories.jsonl")])
    shutil.rmtree(store, ignore_errors=True)
    return seconds


def measure(memp, sample, work, texts, runs, label):
    imports = [import_once(memp, sample, work, f"{label}-{i}") for i in range(runs)]
    embeds = [timed([memp, "embed", "--model", "minilm", *texts]) for _ in range(runs)]
    return {"import_s": statistics.median(imports), "import_runs_s": imports,
            "embed64_s": statistics.median(embeds), "embed64_runs_s": embeds, "loadavg": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("memp")
    parser.add_argument("sample")
    parser.add_argument("work")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    with open(os.path.join(args.sample, "trajectories.jsonl"), encoding="utf-8") as f:
        texts = [" ".join(json.loads(line)["task"].split()) for line in f if line.strip()][:64]
    started = datetime.datetime.now(datetime.timezone.utc)
    timed([args.memp, "embed", "--model", "minilm", "warm up"])
    quiet = measure(args.memp, args.sample, args.work, texts, args.runs, "quiet")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(1)
        loaded = measure(args.memp, args.sample, args.work, texts, args.runs, "busy")
    finally:
        for process in busy:
            process.kill()
            process.wait()
    ended = datetime.datetime.now(datetime.timezone.utc)
    print(json.dumps({"quiet": quiet, "busy": loaded, "busy_processes": 2, "runs": args.runs,
                      "started_utc": f"{started:%Y-%m-%d %H:%M}", "ended_utc": f"{ended:%H:%M}",
                      "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}))


if __name__ == "__main__":
    main()
