#!/usr/bin/env python3
"""Several memp processes write and read one store at once for a while; the invariants are checked throughout.

    python3 scripts/soak.py --memp .build/release/memp --seconds 600

Workers, each a loop of memp processes (threads here only start processes and record what was acknowledged):
  importer   imports files of 500 new trajectories in batches of 50 (the long writer of issue 17's finding 3);
  replacer   replaces one of 20 reserved trajectories with a task of fresh words, then asks a *new* process for it
             with a BM25 lookup: it must come first (finding 3: a writer that missed this replace must not leave a
             cache that hides it);
  feedback   two workers, each with its own 10 memories, record successes; the counters must equal the
             acknowledged calls exactly;
  updater    `memp update` (vanilla, no merging) of 20 finished tasks, each using one of 5 memories of its own;
             their counters must equal the acknowledged uses exactly;
  churn      imports a small source and deletes it again;
  reader     hybrid and bm25 lookups, which must succeed;
  verifier   `memp verify` every few seconds, which must exit 0.
With --server (the default), one `memp serve` process serves the same store to HTTP clients at the same time:
  http-writer    POST /v1/trajectories, one new trajectory per request; every acknowledged one must be stored;
  http-feedback  POST /v1/feedback on 10 memories of its own; counters exact, as for the CLI workers;
  http-reader    POST /v1/lookup (hybrid), which must answer 200; and, for the replacer's latest task, a BM25
                 lookup through the server, counted as fresh (found first) or stale (a server that was writing
                 when asked does not catch up first; see MemoryService) — not a failure during the soak;
so the server is a writer beside the CLI writers, the finding-3 case among processes of both kinds.
At the end (all workers stopped): verify, every replaced trajectory found by its last task (by a new CLI process
and through the server), exact counters, every acknowledged server write stored, as many memories as trajectories,
and the server stops on SIGTERM with exit 0. Prints one JSON summary line; exits 1 if any invariant failed.
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

WORDS = ["zebra", "quantum", "xylophone", "marmalade", "violet", "cobalt", "saffron", "glacier", "falcon", "ember",
         "lantern", "orchid", "pepper", "thistle", "walnut", "harbor", "meadow", "cinder", "maple", "quartz"]


def trajectory(identifier, task, source):
    return {"id": identifier, "task": task, "source": source,
            "steps": [{"action": "go to countertop 1", "observation": "You see a mug 1."},
                      {"action": "take mug 1", "observation": "You pick up the mug 1."}],
            "outcome": {"success": True, "reward": 1.0}}


class Soak:
    def __init__(self, memp, store, work, deadline):
        self.memp, self.store, self.work, self.deadline = memp, store, work, deadline
        self.lock = threading.Lock()
        self.failures = []
        self.counts = {}
        self.acknowledged_feedback = {}
        self.last_task = {}
        self.url = None
        self.served_ids = []

    def run(self, *arguments):
        return subprocess.run([self.memp, *arguments], capture_output=True, text=True)

    def fail(self, text):
        with self.lock:
            self.failures.append(text)

    def count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def write(self, name, records):
        path = os.path.join(self.work, name)
        with open(path, "w") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
        return path

    def running(self):
        return time.monotonic() < self.deadline

    # Workers

    def importer(self):
        round_number = 0
        while self.running():
            records = [trajectory(f"imp-{round_number}-{i}", f"put the mug {i} in the drawer {round_number}", "imp")
                       for i in range(500)]
            path = self.write(f"import-{round_number}.jsonl", records)
            result = self.run("import", "--store", self.store, path, "--batch-size", "50")
            if result.returncode != 0:
                self.fail(f"import {round_number}: {result.stderr.strip()[-300:]}")
            self.count("imports")
            round_number += 1

    def replacer(self, rng):
        while self.running():
            identifier = f"rep-{rng.randrange(20)}"
            words = " ".join(rng.sample(WORDS, 4)) + f" {rng.randrange(10**9)}"
            path = self.write(f"replace-{identifier}.jsonl", [trajectory(identifier, words, "rep")])
            result = self.run("import", "--store", self.store, path, "--duplicates", "replace")
            if result.returncode != 0:
                self.fail(f"replace {identifier}: {result.stderr.strip()[-300:]}")
                continue
            with self.lock:
                self.last_task[identifier] = words
            self.count("replaces")
            self.expect_first(identifier, words, "right after its replace")

    def expect_first(self, identifier, words, when):
        result = self.run("query", "--store", self.store, "--mode", "bm25", "-k", "1", "--json", words)
        found = [json.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0 or found != [identifier]:
            self.fail(f"lookup of {identifier}'s task {when} found {found} (exit {result.returncode})")
        self.count("replace lookups")

    def feedback(self, owner):
        ids = [f"fb-{owner}-{i}" for i in range(10)]
        def send(identifier):
            result = self.run("feedback", "--store", self.store, "--memory", identifier, "--success", "true")
            return None if result.returncode == 0 else f"feedback {identifier}: {result.stderr.strip()[-300:]}"
        self.send_feedback(ids, send, "feedbacks")

    def send_feedback(self, ids, send, name):
        """Records successes on `ids` until the end, counting each acknowledged one; `send` returns an error or None."""
        while self.running():
            identifier = random.choice(ids)
            error = send(identifier)
            if error:
                self.fail(error)
                continue
            with self.lock:
                self.acknowledged_feedback[identifier] = self.acknowledged_feedback.get(identifier, 0) + 1
            self.count(name)

    def updater(self):
        round_number = 0
        while self.running():
            targets = [f"upd-target-{(round_number * 20 + i) % 5}" for i in range(20)]
            records = [dict(trajectory(f"upd-{round_number}-{i}", f"sort the cups {i} round {round_number}", "upd"),
                            usedMemories=[target]) for i, target in enumerate(targets)]
            path = self.write(f"update-{round_number}.jsonl", records)
            result = self.run("update", "--store", self.store, path, "--policy", "vanilla", "--no-merge",
                              "--batch-size", "5")
            if result.returncode != 0:
                self.fail(f"update {round_number}: {result.stderr.strip()[-300:]}")
            else:
                with self.lock:
                    for target in targets:
                        self.acknowledged_feedback[target] = self.acknowledged_feedback.get(target, 0) + 1
            self.count("updates")
            round_number += 1

    # HTTP clients of the server

    def post(self, path, body):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:300]

    def http_writer(self):
        number = 0
        while self.running():
            identifier = f"srv-{number}"
            status, answer = self.post("/v1/trajectories", trajectory(identifier, f"fold the towel {number}", "srv"))
            if status != 200:
                self.fail(f"POST /v1/trajectories {identifier}: {status} {answer}")
            else:
                with self.lock:
                    self.served_ids.append(identifier)
            self.count("http writes")
            number += 1

    def http_feedback(self):
        ids = [f"fb-s-{i}" for i in range(10)]
        def send(identifier):
            status, answer = self.post("/v1/feedback", {"memory": identifier, "success": True})
            return None if status == 200 else f"POST /v1/feedback {identifier}: {status} {answer}"
        self.send_feedback(ids, send, "http feedbacks")

    def http_reader(self):
        while self.running():
            status, answer = self.post("/v1/lookup", {"task": "put the mug in the drawer", "k": 5})
            if status != 200:
                self.fail(f"POST /v1/lookup: {status} {answer}")
            self.count("http lookups")
            with self.lock:
                latest = list(self.last_task.items())[-1:] if self.last_task else []
            for identifier, words in latest:
                if self.server_finds(identifier, words, "during the soak", strict=False):
                    self.count("http replace lookups fresh")
                else:
                    self.count("http replace lookups stale")

    def server_finds(self, identifier, words, when, strict=True):
        status, answer = self.post("/v1/lookup", {"task": words, "k": 1, "mode": "bm25"})
        found = [hit["id"] for hit in answer["hits"]] if status == 200 else None
        if status != 200 or (strict and found != [identifier]):
            self.fail(f"server lookup of {identifier}'s task {when} found {found} (status {status})")
        return found == [identifier]

    def churn(self):
        round_number = 0
        while self.running():
            source = f"churn-{round_number}"
            path = self.write(f"{source}.jsonl", [trajectory(f"{source}-{i}", f"wash the plate {i}", source)
                                                   for i in range(30)])
            for arguments in (["import", "--store", self.store, path, "--source", source],
                              ["delete", "--store", self.store, "--source", source]):
                result = self.run(*arguments)
                if result.returncode != 0:
                    self.fail(f"{arguments[0]} {source}: {result.stderr.strip()[-300:]}")
            self.count("churns")
            round_number += 1

    def reader(self):
        while self.running():
            for mode in ("hybrid", "bm25"):
                result = self.run("query", "--store", self.store, "--mode", mode, "-k", "5", "put the mug in the drawer")
                if result.returncode != 0:
                    self.fail(f"{mode} lookup: {result.stderr.strip()[-300:]}")
                self.count("lookups")

    def verifier(self):
        while self.running():
            self.verify("during the soak")
            time.sleep(3)

    def verify(self, when):
        result = self.run("verify", "--store", self.store, "--json")
        if result.returncode != 0:
            self.fail(f"verify {when}: {result.stdout.strip()[-600:]} {result.stderr.strip()[-300:]}")
        self.count("verifies")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memp", default=".build/release/memp")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-server", dest="server", action="store_false", help="CLI processes only")
    arguments = parser.parse_args()
    memp = os.path.abspath(arguments.memp)
    work = tempfile.mkdtemp(prefix="memp-soak-")
    store = os.path.join(work, "store")
    subprocess.run([memp, "init", "--store", store, "--embedder", "hashing", "--dimension", "64"], check=True,
                   capture_output=True)
    seed = [trajectory(f"rep-{i}", f"reserved task {i}", "rep") for i in range(20)]
    seed += [trajectory(f"fb-{owner}-{i}", f"counted task {owner} {i}", "fb") for owner in "abs" for i in range(10)]
    seed += [trajectory(f"upd-target-{i}", f"stack the cups {i}", "upd") for i in range(5)]
    path = os.path.join(work, "seed.jsonl")
    with open(path, "w") as handle:
        handle.write("".join(json.dumps(record) + "\n" for record in seed))
    subprocess.run([memp, "import", "--store", store, path], check=True, capture_output=True)
    server = None
    server_log = []
    if arguments.server:
        server = subprocess.Popen([memp, "serve", "--store", store, "--port", "0"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        line = server.stderr.readline()
        while line and "Listening on " not in line:
            server_log.append(line)
            line = server.stderr.readline()
        if not line:
            sys.exit(f"memp serve did not start: {''.join(server_log)[-300:]}")
        threading.Thread(target=lambda: server_log.extend(server.stderr), daemon=True).start()
    started = time.monotonic()
    soak = Soak(memp, store, work, started + arguments.seconds)
    if server:
        soak.url = line.split("Listening on ", 1)[1].strip()
    rng = random.Random(arguments.seed)
    workers = [threading.Thread(target=soak.importer), threading.Thread(target=soak.replacer, args=(rng,)),
               threading.Thread(target=soak.feedback, args=("a",)), threading.Thread(target=soak.feedback, args=("b",)),
               threading.Thread(target=soak.updater), threading.Thread(target=soak.churn),
               threading.Thread(target=soak.reader), threading.Thread(target=soak.verifier)]
    if server:
        workers += [threading.Thread(target=soak.http_writer), threading.Thread(target=soak.http_feedback),
                    threading.Thread(target=soak.http_reader)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Final invariants, with every writer stopped.
    soak.verify("at the end")
    for identifier, words in sorted(soak.last_task.items()):
        soak.expect_first(identifier, words, "at the end")
        if server:
            soak.server_finds(identifier, words, "at the end")
    if server:
        server.send_signal(signal.SIGTERM)
        try:
            status = server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            status = "nothing within 120 s"
        if status != 0:
            soak.fail(f"memp serve exited {status} on SIGTERM: {''.join(server_log)[-300:]}")
        connection = sqlite3.connect(os.path.join(store, "memp.sqlite"))
        stored = {row[0] for row in connection.execute("SELECT id FROM trajectory WHERE source = 'srv'")}
        connection.close()
        lost = sorted(set(soak.served_ids) - stored)
        if lost:
            soak.fail(f"acknowledged server writes lost: {lost[:5]} ({len(lost)} in all)")
    for identifier, expected in sorted(soak.acknowledged_feedback.items()):
        result = soak.run("history", "--store", store, "--memory", identifier, "--json")
        entries = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        hits = entries[-1]["after"]["hitCount"] if entries else None
        if hits != expected:
            soak.fail(f"{identifier}: hitCount {hits}, {expected} feedbacks acknowledged")
    stats = json.loads(soak.run("stats", "--store", store, "--json").stdout)
    if stats["memories"] != stats["trajectories"]:
        soak.fail(f"{stats['memories']} memories for {stats['trajectories']} trajectories")
    summary = {"seconds": round(time.monotonic() - started, 1), "counts": soak.counts,
               "trajectories": stats["trajectories"], "failures": len(soak.failures)}
    print(json.dumps(summary, sort_keys=True))
    for failure in soak.failures[:20]:
        print("  " + failure)
    if not soak.failures:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"  store kept in {work}")
    sys.exit(1 if soak.failures else 0)


if __name__ == "__main__":
    main()
