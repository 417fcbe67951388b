#!/usr/bin/env python3
"""kill -9 at random moments of memp's writes, then check the store.

    python3 scripts/crash_loop.py --memp .build/release/memp --trials 100 [--operations import,replace,...]

Each trial copies a prepared store (hashing embedder, 300 memories), starts one write, kills it with SIGKILL after a
random delay drawn uniformly from 0 to the time the whole write takes uninterrupted, and then checks:
  * `memp verify` exits 0 (SQLite integrity, counters, vectors, caches the store would trust);
  * a fresh process answers a lookup;
  * the write's own invariant: an import keeps whole batches only and a rerun completes it; a replace or a delete
    is all or nothing; every acknowledged feedback is counted exactly (the one in flight at most once); an export
    leaves a complete bundle or none.
Prints one line per operation: trials, how many checks held, and the failures (kept under --work for a look).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BASE = 300
BATCH = 50


def trajectory(identifier, task, source):
    return {"id": identifier, "task": task, "source": source,
            "steps": [{"action": "go to countertop 1", "observation": "You see a mug 1."},
                      {"action": "take mug 1", "observation": "You pick up the mug 1."}],
            "outcome": {"success": True, "reward": 1.0}}


WORDS = ["mug", "apple", "knife", "book", "vase", "plate", "egg", "lettuce", "fridge", "shelf", "drawer", "desk"]


def task(index, salt=""):
    return f"put the {WORDS[index % 12]} {WORDS[(index // 12) % 12]} in the {WORDS[(index * 7) % 12]} {salt}".strip()


def write_lines(path, records):
    with open(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


class Memp:
    def __init__(self, binary):
        self.binary = binary

    def run(self, *arguments, check=True):
        result = subprocess.run([self.binary, *arguments], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"memp {' '.join(arguments)} exited {result.returncode}: {result.stderr.strip()}")
        return result

    def start(self, *arguments):
        return subprocess.Popen([self.binary, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stats(self, store):
        return json.loads(self.run("stats", "--store", store, "--json").stdout)

    def memory(self, store, identifier):
        # The history of one memory ends with its current state.
        result = self.run("history", "--store", store, "--memory", identifier, "--json", check=False)
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return lines[-1].get("after") if lines else None


class Trial:
    """One operation's setup, its command and its check."""

    def __init__(self, memp, files):
        self.memp = memp
        self.files = files

    def command(self, operation, store):
        files = self.files
        return {
            "import": ["import", "--store", store, files["new"], "--batch-size", str(BATCH)],
            "replace": ["import", "--store", store, files["replace"], "--duplicates", "replace",
                        "--batch-size", str(BASE)],
            "delete": ["delete", "--store", store, "--source", "base"],
            "export": ["export", "--store", store, "--output", store + "-bundle"],
        }.get(operation)

    def check(self, operation, store, acknowledged):
        memp = self.memp
        verify = memp.run("verify", "--store", store, check=False)
        if verify.returncode != 0:
            return f"verify failed: {verify.stdout.strip()[-500:]}"
        memp.run("query", "--store", store, "--mode", "hybrid", "-k", "3", "put the mug in the fridge")
        stats = memp.stats(store)
        trajectories, memories = stats["trajectories"], stats["memories"]
        if memories != trajectories:
            return f"{memories} memories for {trajectories} trajectories"
        if operation == "import":
            added = trajectories - BASE
            if added % BATCH != 0 and added != len(self.files["new-records"]):
                return f"{added} trajectories added: not whole batches of {BATCH}"
            memp.run("import", "--store", store, self.files["new"], "--duplicates", "skip")
            if memp.stats(store)["trajectories"] != BASE + len(self.files["new-records"]):
                return "the rerun did not complete the import"
        elif operation == "replace":
            if trajectories != BASE:
                return f"{trajectories} trajectories after a replace of {BASE}"
            hits = memp.run("query", "--store", store, "--mode", "bm25", "-k", "1", "--json", "zebra quantum 7").stdout
            replaced = memp.run("query", "--store", store, "--mode", "bm25", "-k", "1", "--json", "zebra quantum 299").stdout
            first, last = ('"base-7"' in hits), ('"base-299"' in replaced)
            if first != last:
                return "the replace is half applied"
        elif operation == "delete":
            if trajectories not in (0, BASE):
                return f"{trajectories} trajectories left: the delete is half applied"
        elif operation == "export":
            bundle = store + "-bundle"
            if os.path.isdir(bundle):
                target = store + "-target"
                memp.run("init", "--store", target, "--embedder", "hashing", "--dimension", "64")
                result = memp.run("import-bundle", "--store", target, bundle, "--json")
                if json.loads(result.stdout)["memories"] != BASE:
                    return "the bundle is incomplete"
        elif operation == "feedback":
            memory = memp.memory(store, "base-0")
            hits = memory["hitCount"] if memory else -1
            if hits not in (acknowledged, acknowledged + 1):
                return f"hitCount {hits} after {acknowledged} acknowledged feedbacks"
        return None


def feedback_until_killed(memp, store, deadline):
    """Sends feedback sequentially; kills the one in flight at `deadline`; returns how many were acknowledged."""
    acknowledged = 0
    while True:
        process = memp.start("feedback", "--store", store, "--memory", "base-0", "--success", "true")
        while process.poll() is None:
            if time.monotonic() >= deadline:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return acknowledged
            time.sleep(0.001)
        if process.returncode != 0:
            raise RuntimeError("feedback failed without being killed")
        acknowledged += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memp", default=".build/release/memp")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--operations", default="import,replace,feedback,delete,export")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--work", default=None, help="keep stores here (default: a temporary directory)")
    arguments = parser.parse_args()
    random.seed(arguments.seed)
    memp = Memp(os.path.abspath(arguments.memp))
    work = arguments.work or tempfile.mkdtemp(prefix="memp-crash-")
    os.makedirs(work, exist_ok=True)
    files = {"base": os.path.join(work, "base.jsonl"), "new": os.path.join(work, "new.jsonl"),
             "replace": os.path.join(work, "replace.jsonl")}
    write_lines(files["base"], [trajectory(f"base-{i}", task(i), "base") for i in range(BASE)])
    files["new-records"] = [trajectory(f"new-{i}", task(i, "again"), "new") for i in range(2000)]
    write_lines(files["new"], files["new-records"])
    write_lines(files["replace"], [trajectory(f"base-{i}", f"zebra quantum {i}", "base") for i in range(BASE)])
    prepared = os.path.join(work, "prepared")
    shutil.rmtree(prepared, ignore_errors=True)
    memp.run("init", "--store", prepared, "--embedder", "hashing", "--dimension", "64")
    memp.run("import", "--store", prepared, files["base"])
    trial = Trial(memp, files)
    failures = 0
    for operation in arguments.operations.split(","):
        # How long the whole write takes, uninterrupted: kills are spread over it.
        calibration = os.path.join(work, f"calibrate-{operation}")
        shutil.rmtree(calibration, ignore_errors=True)
        shutil.copytree(prepared, calibration)
        start = time.monotonic()
        if operation == "feedback":
            for _ in range(5):
                memp.run("feedback", "--store", calibration, "--memory", "base-0", "--success", "true")
        else:
            memp.run(*trial.command(operation, calibration))
        duration = time.monotonic() - start
        held, problems = 0, []
        for number in range(arguments.trials):
            store = os.path.join(work, f"{operation}-{number}")
            for path in (store, store + "-bundle", store + "-target"):
                shutil.rmtree(path, ignore_errors=True)
            shutil.copytree(prepared, store)
            delay = random.uniform(0, duration)
            acknowledged = 0
            if operation == "feedback":
                acknowledged = feedback_until_killed(memp, store, time.monotonic() + delay)
            else:
                process = memp.start(*trial.command(operation, store))
                try:
                    process.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
            try:
                problem = trial.check(operation, store, acknowledged)
            except Exception as error:  # a check that can't even run is a failure too
                problem = str(error)
            if problem:
                problems.append(f"trial {number} (kill after {delay:.3f} s): {problem}")
            else:
                held += 1
                for path in (store, store + "-bundle", store + "-target"):
                    shutil.rmtree(path, ignore_errors=True)
        failures += len(problems)
        print(f"{operation}: {arguments.trials} trials (uninterrupted {duration:.2f} s), {held} held, "
              f"{len(problems)} failed", flush=True)
        for problem in problems[:10]:
            print("   " + problem, flush=True)
    if not arguments.work and failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
