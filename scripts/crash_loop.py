#!/usr/bin/env python3
"""kill -9 at random moments of memp's writes, then check the store.

    python3 scripts/crash_loop.py --memp .build/release/memp --trials 100 [--operations import,replace,...]

Operations: import, replace, feedback, update, delete, compaction, export, server (the default: all of them).
Each trial copies a prepared store (hashing embedder, 300 memories), starts one write, kills it with SIGKILL after a
random delay drawn uniformly from 0 to the time the whole write takes uninterrupted, and then checks:
  * `memp verify` exits 0 (SQLite integrity, counters, vectors, caches the store would trust);
  * a fresh process answers a lookup; as many memories as trajectories;
  * the write's own invariant: an import (of 2,000 trajectories, --import-size) keeps whole batches only and a rerun
    completes it; a replace or a delete is all or nothing; every acknowledged feedback is counted exactly (the one
    in flight at most once); an update keeps whole batches, each with its counter increments (hitCount of the used memory = tasks stored); a
    compaction (deleting 200 of 500 memories, which makes the indexes drop their dead rows and rewrites the cache
    files) is all or nothing; an export leaves a complete bundle or none;
  * server: `memp serve` is killed while HTTP clients (2 importing trajectories, 2 sending feedback, one request at
    a time each) write to it: every trajectory whose request was answered 200 is stored, nothing else is but the
    requests in flight, and each feedback client's memory counts its acknowledged calls (plus at most the one in
    flight).
Prints one line per operation: trials, how many checks held, and the failures (kept under --work for a look).
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BASE = 300
BATCH = 50
UPDATE_TASKS, UPDATE_BATCH = 200, 10
TRANSIENT = 200
SERVER_REQUESTS = 15  # per client, in the uninterrupted run


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
            "update": ["update", "--store", store, files["update"], "--policy", "vanilla", "--no-merge",
                       "--batch-size", str(UPDATE_BATCH)],
            "compaction": ["delete", "--store", store, "--source", "transient"],
        }.get(operation)

    def check(self, operation, store, acknowledged):
        memp = self.memp
        verify = memp.run("verify", "--store", store, check=False)
        if verify.returncode != 0:
            return f"verify failed: {verify.stdout.strip()[-500:]}"
        memp.run("query", "--store", store, "--mode", "hybrid", "-k", "3", "put the mug in the fridge")
        # Counts straight from the database (verify has just checked it): one process less per trial.
        trajectories = database_rows(store, "SELECT COUNT(*) FROM trajectory")[0][0]
        memories = database_rows(store, "SELECT COUNT(*) FROM memory")[0][0]
        if memories != trajectories:
            return f"{memories} memories for {trajectories} trajectories"
        if operation == "update":
            added = trajectories - BASE
            hits = hit_count(store, "base-0")
            if added % UPDATE_BATCH != 0 and added != UPDATE_TASKS:
                return f"{added} finished tasks stored: not whole batches of {UPDATE_BATCH}"
            if hits != added:
                return f"base-0 counts {hits} uses, but {added} tasks that used it are stored"
        elif operation == "compaction":
            if trajectories not in (BASE, BASE + TRANSIENT):
                return f"{trajectories} trajectories left: the delete is half applied"
            found = memp.run("query", "--store", store, "--mode", "bm25", "-k", "3", "--json", task(7)).stdout
            if '"base-' not in found:
                return "a base memory is not found after the compaction"
        elif operation == "server":
            return check_server(store, acknowledged)
        elif operation == "import":
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
            hits = hit_count(store, "base-0")
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


def database_rows(store, sql, arguments=()):
    connection = sqlite3.connect(os.path.join(store, "memp.sqlite"))
    try:
        return connection.execute(sql, arguments).fetchall()
    finally:
        connection.close()


def hit_count(store, memory):
    rows = database_rows(store, "SELECT hitCount FROM memory WHERE id = ?", (memory,))
    return rows[0][0] if rows else -1


class ServerRun:
    """`memp serve` on a copy of the store and four HTTP clients writing to it, one request at a time each."""

    def __init__(self, memp, store, requests=None):
        self.process = subprocess.Popen([memp.binary, "serve", "--store", store, "--port", "0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        early = []
        line = self.process.stderr.readline()
        while line and "Listening on " not in line:
            early.append(line)
            line = self.process.stderr.readline()
        if not line:
            raise RuntimeError(f"memp serve did not start: {''.join(early).strip()[-300:]}")
        self.url = line.split("Listening on ", 1)[1].strip()
        self.log = []  # the rest of the server's stderr, drained so that it never blocks on a full pipe
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()
        self.errors = []  # answers other than 200: each one is a failure of the trial
        self.requests = requests  # None: until the server is killed
        self.stored = {c: [] for c in range(2)}      # trajectory IDs acknowledged, per importing client
        self.in_flight = {c: None for c in range(2)}  # the ID whose request was cut by the kill
        self.feedback = {c: 0 for c in range(2)}     # acknowledged feedback calls, per feedback client
        self.cut_feedback = {c: 0 for c in range(2)}
        self.clients = [threading.Thread(target=self.importer, args=(c,)) for c in range(2)]
        self.clients += [threading.Thread(target=self.feedbacker, args=(c,)) for c in range(2)]
        self.started = time.monotonic()
        for client in self.clients:
            client.start()

    def post(self, path, body):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            return json.loads(response.read())

    def importer(self, client):
        number = 0
        while self.requests is None or number < self.requests:
            identifier = f"srv-{client}-{number}"
            self.in_flight[client] = identifier
            try:
                self.post("/v1/trajectories", trajectory(identifier, task(number, f"served {client}"), "served"))
            except urllib.error.HTTPError as error:
                self.errors.append(f"{identifier}: HTTP {error.code} {error.read()[:200]!r}")
                return
            except Exception:  # the server is gone; this request may or may not have committed
                return
            self.in_flight[client] = None
            self.stored[client].append(identifier)
            number += 1

    def feedbacker(self, client):
        number = 0
        while self.requests is None or number < self.requests:
            self.cut_feedback[client] = 1
            try:
                self.post("/v1/feedback", {"memory": f"base-{client + 1}", "success": True})
            except urllib.error.HTTPError as error:
                self.errors.append(f"feedback base-{client + 1}: HTTP {error.code} {error.read()[:200]!r}")
                return
            except Exception:
                return
            self.cut_feedback[client] = 0
            self.feedback[client] += 1
            number += 1

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        for client in self.clients:
            client.join()

    def finish(self):
        for client in self.clients:
            client.join()
        if self.errors:
            raise RuntimeError("the server answered an error: " + "; ".join(self.errors[:3]))
        duration = time.monotonic() - self.started
        self.process.send_signal(signal.SIGTERM)
        self.process.wait()
        return duration


def check_server(store, run):
    if run.errors:
        return "the server answered an error: " + "; ".join(run.errors[:3])
    rows = {row[0] for row in database_rows(store, "SELECT id FROM trajectory WHERE source = 'served'")}
    acknowledged = {identifier for ids in run.stored.values() for identifier in ids}
    lost = acknowledged - rows
    if lost:
        return f"acknowledged trajectories lost: {sorted(lost)[:5]}"
    extra = rows - acknowledged - {identifier for identifier in run.in_flight.values() if identifier}
    if extra:
        return f"trajectories stored that no request sent: {sorted(extra)[:5]}"
    for client in range(2):
        hits = hit_count(store, f"base-{client + 1}")
        expected = run.feedback[client]
        if not expected <= hits <= expected + run.cut_feedback[client]:
            return f"base-{client + 1}: hitCount {hits} after {expected} acknowledged feedbacks"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memp", default=".build/release/memp")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--operations", default="import,replace,feedback,update,delete,compaction,export,server")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--work", default=None, help="keep stores here (default: a temporary directory)")
    parser.add_argument("--import-size", type=int, default=2000, help="trajectories of the interrupted import")
    arguments = parser.parse_args()
    random.seed(arguments.seed)
    memp = Memp(os.path.abspath(arguments.memp))
    work = arguments.work or tempfile.mkdtemp(prefix="memp-crash-")
    os.makedirs(work, exist_ok=True)
    files = {"base": os.path.join(work, "base.jsonl"), "new": os.path.join(work, "new.jsonl"),
             "replace": os.path.join(work, "replace.jsonl")}
    write_lines(files["base"], [trajectory(f"base-{i}", task(i), "base") for i in range(BASE)])
    files["new-records"] = [trajectory(f"new-{i}", task(i, "again"), "new") for i in range(arguments.import_size)]
    write_lines(files["new"], files["new-records"])
    write_lines(files["replace"], [trajectory(f"base-{i}", f"zebra quantum {i}", "base") for i in range(BASE)])
    files["update"] = os.path.join(work, "update.jsonl")
    write_lines(files["update"], [dict(trajectory(f"upd-{i}", task(i, "finished"), "agent"), usedMemories=["base-0"])
                                  for i in range(UPDATE_TASKS)])
    transient = os.path.join(work, "transient.jsonl")
    write_lines(transient, [trajectory(f"tmp-{i}", task(i, "transient"), "transient") for i in range(TRANSIENT)])
    prepared = os.path.join(work, "prepared")
    shutil.rmtree(prepared, ignore_errors=True)
    memp.run("init", "--store", prepared, "--embedder", "hashing", "--dimension", "64")
    memp.run("import", "--store", prepared, files["base"])
    # The compaction's store also holds 200 memories of another source, whose deletion leaves 40 % dead rows.
    prepared_compaction = os.path.join(work, "prepared-compaction")
    shutil.rmtree(prepared_compaction, ignore_errors=True)
    shutil.copytree(prepared, prepared_compaction)
    memp.run("import", "--store", prepared_compaction, transient)
    trial = Trial(memp, files)
    failures = 0
    for operation in arguments.operations.split(","):
        # How long the whole write takes, uninterrupted: kills are spread over it.
        source = prepared_compaction if operation == "compaction" else prepared
        calibration = os.path.join(work, f"calibrate-{operation}")
        shutil.rmtree(calibration, ignore_errors=True)
        shutil.copytree(source, calibration)
        start = time.monotonic()
        if operation == "feedback":
            for _ in range(5):
                memp.run("feedback", "--store", calibration, "--memory", "base-0", "--success", "true")
        elif operation == "server":
            # From the moment the server listens until the clients' requests are all answered.
            start = None
            duration = ServerRun(memp, calibration, requests=SERVER_REQUESTS).finish()
        else:
            memp.run(*trial.command(operation, calibration))
        if start is not None:
            duration = time.monotonic() - start
        held, problems = 0, []
        began = time.monotonic()
        for number in range(arguments.trials):
            store = os.path.join(work, f"{operation}-{number}")
            for path in (store, store + "-bundle", store + "-target"):
                shutil.rmtree(path, ignore_errors=True)
            shutil.copytree(source, store)
            delay = random.uniform(0, duration)
            acknowledged = 0
            if operation == "feedback":
                acknowledged = feedback_until_killed(memp, store, time.monotonic() + delay)
            elif operation == "server":
                try:
                    acknowledged = ServerRun(memp, store)
                except RuntimeError as error:
                    problems.append(f"trial {number}: {error}")
                    continue
                time.sleep(delay)
                acknowledged.kill()
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
              f"{len(problems)} failed, {time.monotonic() - began:.0f} s in all", flush=True)
        for problem in problems[:10]:
            print("   " + problem, flush=True)
    if not arguments.work and failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
