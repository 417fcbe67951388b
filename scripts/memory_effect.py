#!/usr/bin/env python3
"""The memory effect: does procedural memory make an agent on TextWorldExpress succeed more, in fewer steps?

Runs the weak agent (a seeded random explorer, scripts/memp_agent.py) on test-fold games it has never seen, with
no memory and with memories that `memp` stores, retrieves and updates, and measures success rate, steps, steps on
successful episodes and the memory's size per condition, with 95% confidence intervals:

- none: the explorer alone;
- build policies (trajectory, script, proceduralization): memory built from the gold (strong agent's)
  trajectories of train-fold games, hybrid retrieval;
- retrieval policies (random, query, keyword, bm25, hybrid) on the proceduralization memory;
- update policies (vanilla, validation, adjustment): a seed memory of one gold trajectory per game type,
  updated with `memp update` after every batch of 10 episodes (the curve of success over batches), with
  memories deprecated below a 0.2 success rate (about the explorer's own) and below Memp's default 0.5 ("@0.5");
- transfer: memory built from the gold agent's train trajectories vs from the explorer's own successful runs
  of the same train games, both used by the explorer.

Every condition plays the same episodes (test-fold seeds per replicate) with the same agent seeds, so
differences to "none" are paired. Memory operations, one per batch of episodes, go to one `memp serve` (started
on 127.0.0.1 with `--port 0` over the experiment's stores, `--store-root`) through the Python client
(clients/python): a batch lookup of the batch's tasks, an update with the batch's runs and the memories they
used, the store's statistics (the memory's size), and the imports that build the stores (`memp init` creates
each store; the API has no route for that). `--transport process` runs the same operations as one `memp`
process per call instead (`memp query --queries FILE --json --contents`, `memp update --policy P runs.jsonl`,
`memp stats --json`, `memp import`), as the experiment did before the server existed, so both can be timed; both
give the same episodes. The evaluated agent never sees a gold path: test episodes are started without one.

    swift build -c release --product memp
    python3 scripts/memory_effect.py --memp .build/release/memp --out docs/experiments/memory-effect
    python3 scripts/memory_effect.py --memp .build/release/memp --out /tmp/memory-effect --quick   # smoke check
    python3 scripts/memory_effect.py --self-test                                                  # no java needed

Writes OUT/results.json (summaries, per-batch curves, every episode compactly), OUT/report.html (SVG charts)
and OUT/table.md (the tables docs/experiments.md shows), through scripts/memory_effect_report.py.
"""
import argparse
import json
import math
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from memp_agent import Explorer, GuidedAgent, Procedure
from memp_twx import FOLD_SEEDS, GAMES, Replay, episode, open_env, play

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "clients" / "python"))
from memp_client import MempClient, MempError  # noqa: E402

BUILD_POLICIES = ["trajectory", "script", "proceduralization"]
RETRIEVAL_POLICIES = ["random", "query", "keyword", "bm25", "hybrid"]
UPDATE_POLICIES = ["vanilla", "validation", "adjustment"]
BATCH = 10


class Memp:
    """The `memp` CLI, one process per call; a failing call stops the experiment with memp's own message."""

    transport = "process"

    def __init__(self, executable, embedder, work):
        self.executable = executable
        self.embedder = embedder
        self.work = work
        self.calls = 0
        self.seconds = 0.0

    def timing(self):
        return {"transport": self.transport, "memp_calls": self.calls, "memp_seconds": round(self.seconds, 1)}

    def close(self):
        pass

    def __call__(self, *arguments):
        started = time.monotonic()
        done = subprocess.run([self.executable, *arguments], capture_output=True, text=True)
        self.calls += 1
        self.seconds += time.monotonic() - started
        if done.returncode != 0:
            sys.exit(f"memp {' '.join(arguments[:3])} … failed (exit {done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def _write(self, name, rows):
        path = os.path.join(self.work, name)
        with open(path, "w") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True) + "\n")
        return path

    def create(self, store, trajectories, build):
        self("init", "--store", store, "--embedder", self.embedder)
        if trajectories:
            self("import", "--store", store, self._write("import.jsonl", trajectories), "--build", build, "--json")

    def query(self, store, tasks, mode, k, seed):
        """{qid: [hit with id, score, task, script, steps]} for {qid: task}."""
        path = self._write("queries.jsonl", [{"qid": qid, "query": task} for qid, task in tasks.items()])
        output = self("query", "--store", store, "--queries", path, "--mode", mode, "-k", str(k), "--seed",
                      str(seed), "--json", "--contents")
        lines = [json.loads(line) for line in output.splitlines() if line.strip()]
        return {line["qid"]: line["hits"] for line in lines}

    def update(self, store, runs, policy, build, min_hits, min_success_rate):
        """What the update did: the IDs added and deprecated, the merges, the rewrites."""
        return json.loads(self("update", "--store", store, self._write("runs.jsonl", runs), "--policy", policy,
                               "--build", build, "--source", "agent-runs", "--min-hits", str(min_hits),
                               "--min-success-rate", str(min_success_rate), "--json"))

    def size(self, store):
        stats = json.loads(self("stats", "--store", store, "--json"))
        return {"memories": stats["memories"], "active": stats["activeMemories"]}


class ServedMemp:
    """One `memp serve --store-root WORK` for the whole experiment, used through the Python client.

    Stores are directories under WORK, named by their base names; `memp init` (a process: the API creates no
    stores) makes each one, and every other operation is a request. A failing request stops the experiment with
    the server's message.
    """

    transport = "server"

    def __init__(self, executable, embedder, work):
        self.cli = Memp(executable, embedder, work)
        self.work = work
        self.requests = 0
        self.seconds = 0.0
        self.clients = {}
        self.log = []
        started = time.monotonic()
        # No lookup time limit: a loaded machine may take long over a batch of 80 MiniLM lookups.
        self.process = subprocess.Popen([executable, "serve", "--store-root", work, "--port", "0",
                                         "--lookup-timeout", "86400"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            match = re.match(r"Listening on (http://\S+)", line)
            if match:
                self.url = match.group(1)
                break
        else:
            sys.exit(f"memp serve did not start (exit {self.process.wait()}): {' '.join(self.log[-5:])}")
        threading.Thread(target=self._drain, daemon=True).start()
        self.start_seconds = time.monotonic() - started

    def _drain(self):
        for line in self.process.stderr:
            self.log = (self.log + [line.rstrip()])[-20:]

    def _call(self, store, method, *arguments, **options):
        name = os.path.basename(store)
        client = self.clients.get(name)
        if client is None:
            client = self.clients[name] = MempClient(self.url, store=name, timeout=86400)
        started = time.monotonic()
        try:
            return getattr(client, method)(*arguments, **options)
        except (MempError, OSError) as error:
            sys.exit(f"memp serve: {method} on store {name} failed: {error}; server log: {' '.join(self.log[-5:])}")
        finally:
            self.requests += 1
            self.seconds += time.monotonic() - started

    def create(self, store, trajectories, build):
        self.cli("init", "--store", store, "--embedder", self.cli.embedder)
        if trajectories:
            self._call(store, "add_trajectories", trajectories, build=build)

    def query(self, store, tasks, mode, k, seed):
        """{qid: [hit with id, score, task, script, steps]} for {qid: task}, as `memp query --contents` gives."""
        results = self._call(store, "lookup_many", list(tasks.values()), k=k, mode=mode, seed=seed)
        return {qid: [{"id": hit.id, "score": hit.score, "task": hit.task, "script": hit.script,
                       "steps": [{"action": step.action, "observation": step.observation} for step in hit.steps]
                       if hit.steps is not None else None} for hit in hits]
                for qid, hits in zip(tasks, results)}

    def update(self, store, runs, policy, build, min_hits, min_success_rate):
        report = self._call(store, "update", policy, runs, build=build, source="agent-runs", min_hits=min_hits,
                            min_success_rate=min_success_rate)
        return {"added": report.added, "merged": report.merged, "rewritten": report.rewritten,
                "deprecated": report.deprecated}

    def size(self, store):
        stats = self._call(store, "stats")
        return {"memories": stats["memories"], "active": stats["activeMemories"]}

    def timing(self):
        return {"transport": self.transport, "memp_calls": self.requests + self.cli.calls,
                "memp_seconds": round(self.seconds + self.cli.seconds, 1), "requests": self.requests,
                "request_seconds": round(self.seconds, 1), "processes": self.cli.calls,
                "process_seconds": round(self.cli.seconds, 1), "server_start_seconds": round(self.start_seconds, 2)}

    def close(self):
        """Stops the server (SIGTERM: it finishes what is in flight and exits 0)."""
        for client in self.clients.values():
            client.close()
        self.process.terminate()
        status = self.process.wait(timeout=120)
        if status != 0:
            print(f"note: memp serve exited with status {status}", file=sys.stderr)


def record(identifier, task, steps, success, reward, game, fold, seed, agent, used=None):
    row = {"id": identifier, "task": task, "steps": steps, "outcome": {"success": success, "reward": round(reward, 4)},
           "source": "textworld-express", "labels": {"taskType": game, "fold": fold, "seed": str(seed),
                                                     "agent": agent}}
    if used is not None:
        row["usedMemories"] = used
    return row


def train_trajectories(env, games, per_game, step_limit, seed):
    """Gold (strong agent) and explorer (weak agent) trajectories of the same train-fold games."""
    rng = random.Random(f"train-{seed}")
    gold, weak = [], []
    for game in games:
        for train_seed in rng.sample(list(FOLD_SEEDS["train"]), per_game):
            task, _, infos = episode(env, game, "train", train_seed)
            actions = env.getGoldActionSequence()
            steps, success, reward = play(env, infos, Replay(actions), len(actions) + 1)
            gold.append(record(f"gold-{game}-{train_seed}", task, steps, success, reward, game, "train", train_seed,
                               "gold"))
            task, _, infos = episode(env, game, "train", train_seed, gold_path=False)
            agent = GuidedAgent([], Explorer(random.Random(f"weak-{game}-{train_seed}"), task))
            steps, success, reward = play(env, infos, agent, step_limit)
            weak.append(record(f"explorer-{game}-{train_seed}", task, steps, success, reward, game, "train",
                               train_seed, "explorer"))
    return gold, weak


def test_plan(replicate, games, per_game):
    """The test-fold episodes of one replicate, game types interleaved so every batch mixes them."""
    rng = random.Random(f"test-{replicate}")
    plan = [(game, seed) for game in games for seed in rng.sample(list(FOLD_SEEDS["test"]), per_game)]
    rng.shuffle(plan)
    return plan


def run_condition(condition, env, memp, args, stores, work):
    """Plays every replicate of one condition; returns its episodes, per-batch points and memory sizes."""
    episodes, batches, sizes = [], [], []
    for replicate in range(args.replicates):
        plan = test_plan(replicate, args.games, args.episodes_per_game)
        store = stores.get(condition.get("store"))
        if condition.get("update"):
            # A store name the server accepts: letters, digits, '-', '_' and '.'.
            copy = os.path.join(work, "store-" + re.sub(r"[^A-Za-z0-9_.-]", "-", condition["name"]) + f"-{replicate}")
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(store, copy)
            store = copy
        chunk = BATCH if condition.get("update") else len(plan)
        active = memp.size(store)["active"] if store else 0
        for start in range(0, len(plan), chunk):
            part = list(enumerate(plan))[start:start + chunk]
            tasks = {f"e{index}": episode(env, game, "test", seed, gold_path=False)[0] for index, (game, seed) in part}
            hits = memp.query(store, tasks, condition["retrieval"], args.k, replicate) if store else {}
            runs = []
            for index, (game, seed) in part:
                task, _, infos = episode(env, game, "test", seed, gold_path=False)
                explorer = Explorer(random.Random(f"agent-{replicate}-{index}"), task)
                procedures = [Procedure.from_hit(hit) for hit in hits.get(f"e{index}", [])]
                agent = GuidedAgent(procedures, explorer)
                steps, success, reward = play(env, infos, agent, args.step_limit)
                episodes.append({"replicate": replicate, "index": index, "batch": index // BATCH, "game": game,
                                 "seed": seed, "success": success, "steps": len(steps), "guided": agent.guided_steps,
                                 "used": len(agent.used)})
                runs.append(record(f"run-{replicate}-{index:03d}-{game}-{seed}", task, steps, success, reward, game,
                                   "test", seed, "explorer+memory", agent.used))
            if condition.get("update"):
                report = memp.update(store, runs, condition["update"], condition["build"], args.min_hits,
                                     condition["min_success_rate"])
                # The report says what changed, so the size after each batch needs no extra memp call.
                active += len(report["added"]) - len(report["deprecated"])
                batch = episodes[-len(part):]
                batches.append({"replicate": replicate, "batch": start // BATCH, "active": active,
                                "successes": sum(e["success"] for e in batch), "episodes": len(batch),
                                "added": len(report["added"]), "merged": len(report["merged"]),
                                "rewritten": len(report["rewritten"]), "deprecated": len(report["deprecated"])})
        size = memp.size(store) if store else {"memories": 0, "active": 0}
        if size["active"] != active:
            sys.exit(f"{condition['name']}: memp stats counts {size['active']} active memories, the update reports "
                     f"add up to {active}")
        sizes.append(size)
    return episodes, batches, sizes


def conditions(quick):
    rows = [{"name": "none", "group": "baseline"}]
    for build in BUILD_POLICIES if not quick else ["proceduralization"]:
        rows.append({"name": f"gold/{build}/hybrid", "group": "build", "store": f"gold-{build}", "build": build,
                     "retrieval": "hybrid"})
    for mode in RETRIEVAL_POLICIES if not quick else []:
        if mode != "hybrid":
            rows.append({"name": f"gold/proceduralization/{mode}", "group": "retrieval",
                         "store": "gold-proceduralization", "build": "proceduralization", "retrieval": mode})
    # Memp's deprecation threshold (a memory whose tasks succeed less than half the time) assumes a strong agent;
    # for the weak one it is run as well as 0.2, about the success rate the explorer has without memory.
    for rate in [0.2, 0.5] if not quick else [0.2]:
        for policy in UPDATE_POLICIES if not quick else ["adjustment"]:
            rows.append({"name": f"update/{policy}" + ("" if rate == 0.2 else f"@{rate}"), "group": "update",
                         "store": "seed", "build": "proceduralization", "retrieval": "hybrid", "update": policy,
                         "min_success_rate": rate})
    rows.append({"name": "own/proceduralization/hybrid", "group": "transfer", "store": "own",
                 "build": "proceduralization", "retrieval": "hybrid"})
    return rows


# Statistics: Wilson intervals for rates, seeded percentile bootstrap for means and paired differences.

def wilson(successes, n, z=1.96):
    if n == 0:
        return [0.0, 0.0]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def bootstrap(values, seed, resamples=2000):
    if not values:
        return [None, None]
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(resamples))
    return [round(means[int(0.025 * resamples)], 3), round(means[int(0.975 * resamples) - 1], 3)]


def mean(values):
    return round(sum(values) / len(values), 4) if values else None


def summarize(episodes, baseline, sizes):
    n = len(episodes)
    successes = sum(e["success"] for e in episodes)
    steps = [e["steps"] for e in episodes]
    winning = [e["steps"] for e in episodes if e["success"]]
    summary = {"episodes": n, "successes": successes, "success_rate": round(successes / n, 4),
               "success_ci": wilson(successes, n), "steps": mean(steps), "steps_ci": bootstrap(steps, 1),
               "steps_success": mean(winning), "steps_success_ci": bootstrap(winning, 2),
               "guided_share": round(sum(e["guided"] for e in episodes) / max(1, sum(steps)), 4),
               "memory_active": mean([s["active"] for s in sizes]), "memory_total": mean([s["memories"] for s in sizes]),
               "by_game": {}}
    for game in sorted({e["game"] for e in episodes}):
        rows = [e for e in episodes if e["game"] == game]
        wins = sum(e["success"] for e in rows)
        summary["by_game"][game] = {"episodes": len(rows), "success_rate": round(wins / len(rows), 4),
                                    "success_ci": wilson(wins, len(rows)), "steps": mean([e["steps"] for e in rows])}
    if baseline is not None:
        pairs = {(e["replicate"], e["index"]): e for e in baseline}
        success_delta = [int(e["success"]) - int(pairs[(e["replicate"], e["index"])]["success"]) for e in episodes]
        steps_delta = [e["steps"] - pairs[(e["replicate"], e["index"])]["steps"] for e in episodes]
        both = [e["steps"] - pairs[(e["replicate"], e["index"])]["steps"] for e in episodes
                if e["success"] and pairs[(e["replicate"], e["index"])]["success"]]
        summary["vs_none"] = {"success": mean(success_delta), "success_ci": bootstrap(success_delta, 3),
                              "steps": mean(steps_delta), "steps_ci": bootstrap(steps_delta, 4),
                              "both_solved": len(both), "steps_both": mean(both), "steps_both_ci": bootstrap(both, 5)}
    return summary


def curve(batches, episodes):
    """Success per batch index over the replicates (Wilson interval) and the memory's active size after it."""
    points = []
    for batch in sorted({e["batch"] for e in episodes}):
        rows = [e for e in episodes if e["batch"] == batch]
        wins = sum(e["success"] for e in rows)
        after = [b for b in batches if b["batch"] == batch]
        point = {"batch": batch, "episodes": len(rows), "success_rate": round(wins / len(rows), 4),
                 "success_ci": wilson(wins, len(rows)), "memory_active": mean([b["active"] for b in after])}
        for change in ("added", "merged", "rewritten", "deprecated") if after else ():
            point[change] = mean([b[change] for b in after])
        points.append(point)
    return points


def experiment(args):
    started = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="memory-effect-")
    memp = (ServedMemp if args.transport == "server" else Memp)(args.memp, args.embedder, work)
    env = open_env(args.step_limit + 10)
    try:
        gold, weak = train_trajectories(env, args.games, args.train_per_game, args.step_limit, args.seed)
        own = [t for t in weak if t["outcome"]["success"]]
        first_gold = {}
        for trajectory in gold:
            first_gold.setdefault(trajectory["labels"]["taskType"], trajectory)
        plan = [row for row in conditions(args.quick)
                if row["name"] == "none" or not args.only or any(part in row["name"] for part in args.only)]
        needed = {row.get("store") for row in plan}
        stores = {}
        for build in BUILD_POLICIES:
            if f"gold-{build}" in needed:
                stores[f"gold-{build}"] = os.path.join(work, f"gold-{build}")
                memp.create(stores[f"gold-{build}"], gold, build)
        stores["seed"] = os.path.join(work, "seed")
        memp.create(stores["seed"], list(first_gold.values()), "proceduralization")
        stores["own"] = os.path.join(work, "own")
        memp.create(stores["own"], own, "proceduralization")
        prepared = time.monotonic()
        results, baseline = [], None
        for condition in plan:
            condition_started = time.monotonic()
            episodes, batches, sizes = run_condition(condition, env, memp, args, stores, work)
            if condition["name"] == "none":
                baseline = episodes
            row = dict(condition, summary=summarize(episodes, None if condition["name"] == "none" else baseline,
                                                    sizes),
                       seconds=round(time.monotonic() - condition_started, 1),
                       episodes=[[e["replicate"], e["index"], e["game"], int(e["success"]), e["steps"], e["guided"]]
                                 for e in episodes])
            row.pop("store", None)
            if condition.get("update") or condition["name"] == "none":
                row["curve"] = curve(batches, episodes)
            results.append(row)
            summary = row["summary"]
            print(f"{condition['name']:34} success {summary['success_rate']:.3f} {summary['success_ci']}  "
                  f"steps {summary['steps']}  memory {summary['memory_active']}  ({row['seconds']} s)",
                  file=sys.stderr)
    finally:
        env.close()
        memp.close()
        shutil.rmtree(work, ignore_errors=True)
    total = time.monotonic() - started
    output = {
        "generator": "scripts/memory_effect.py",
        "configuration": {"quick": args.quick, "replicates": args.replicates, "games": args.games,
                          "episodes_per_game": args.episodes_per_game, "train_per_game": args.train_per_game,
                          "step_limit": args.step_limit, "k": args.k, "batch": BATCH, "embedder": args.embedder,
                          "seed": args.seed, "min_hits": args.min_hits, "only": args.only},
        "memory_sources": {"gold": len(gold), "gold_successful": sum(t["outcome"]["success"] for t in gold),
                           "explorer": len(weak), "explorer_successful": len(own), "seed": len(first_gold)},
        "timing": {"total_seconds": round(total, 1), "prepare_seconds": round(prepared - started, 1),
                   **memp.timing()},
        "conditions": results,
    }
    with open(os.path.join(args.out, "results.json"), "w") as handle:
        json.dump(output, handle, separators=(",", ":"), sort_keys=True)
    from memory_effect_report import write_report
    write_report(output, args.out)
    print(json.dumps({"out": args.out, "seconds": round(total, 1), **memp.timing()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memp", help="the memp executable (swift build -c release --product memp)")
    parser.add_argument("--out", help="output directory")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke check: 1 replicate, 2 episodes per game type, 4 conditions")
    parser.add_argument("--self-test", action="store_true", help="check the step adaptation and the agents, then exit")
    parser.add_argument("--embedder", default="hashing", choices=["hashing", "minilm"], help="the stores' embedder")
    parser.add_argument("--transport", default="server", choices=["server", "process"],
                        help="memory operations through one memp serve (default) or one memp process per call")
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated game types")
    parser.add_argument("--replicates", type=int, default=10, help="replicates (distinct test seeds and agent seeds)")
    parser.add_argument("--episodes-per-game", type=int, default=10, help="test episodes per game type per replicate")
    parser.add_argument("--train-per-game", type=int, default=10, help="train games per type the memories come from")
    parser.add_argument("--step-limit", type=int, default=50, help="actions per episode")
    parser.add_argument("-k", type=int, default=3, help="memories retrieved per task")
    parser.add_argument("--seed", type=int, default=7, help="picks the train games")
    parser.add_argument("--min-hits", type=int, default=3, help="memp update: uses before a memory can be deprecated")
    parser.add_argument("--only", action="append", default=[],
                        help="run only the conditions whose name contains this (repeatable; none always runs)")
    args = parser.parse_args()
    if args.self_test:
        from memory_effect_selftest import run_self_test
        sys.exit(run_self_test())
    if not args.memp or not args.out:
        parser.error("--memp and --out are required (or --self-test)")
    args.games = [g for g in args.games.split(",") if g]
    unknown = [g for g in args.games if g not in GAMES]
    if unknown:
        parser.error(f"unknown game type(s) {unknown}; choose from {GAMES}")
    if args.quick:
        args.replicates, args.episodes_per_game, args.train_per_game = 1, 2, 3
    if not os.access(args.memp, os.X_OK):
        parser.error(f"{args.memp} is not an executable memp; build it with swift build --product memp")
    experiment(args)


if __name__ == "__main__":
    main()
