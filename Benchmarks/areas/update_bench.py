#!/usr/bin/env python3
"""Whole `memp update` processes for two or more builds in one run, alternated round by round.

    python3 Benchmarks/areas/update_bench.py [--rounds 8] [--attempts 320] [--work DIR] NAME=MEMP NAME=MEMP ...

Each build makes its own store of the 640-trajectory TextWorld sample (`memp init --embedder hashing --dimension 256`,
`memp import`), so that a build reads a store of its own schema. The attempts are trajectories of the sample under
new IDs, each a success with probability 1/2 (seeded), each naming three used memories: what an agent reports after
a round of tasks. A round copies each build's store and runs `memp update --policy validation` over the attempts, the builds in
an order that alternates from round to round; the copy is timed with the update, the same for every build. Prints
one JSON object: per build, the median wall and CPU (user + system) seconds over the rounds, each round's figures,
what its last update reported (memories added and merged, failures not added: builds that merge differently do
different work), and, against the first build, the median of the per-round ratios.
"""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import time

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "data", "textworld-sample", "trajectories.jsonl")


def attempts(count, seed):
    """`count` finished tasks made of the sample's trajectories: new IDs, seeded outcomes, three used memories."""
    generator = random.Random(seed)
    with open(SAMPLE) as sample:
        trajectories = [json.loads(line) for line in sample if line.strip()]
    ids = [trajectory["id"] for trajectory in trajectories]
    tasks = []
    for number in range(count):
        task = dict(generator.choice(trajectories))
        task["id"] = f"attempt-{number}"
        success = generator.random() < 0.5
        task["outcome"] = {"success": success, "reward": 1.0 if success else 0.0}
        task["usedMemories"] = generator.sample(ids, 3)
        tasks.append(task)
    return tasks


def run(command):
    """Runs `command` to its end; returns its wall and CPU seconds and its output, and raises when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {completed.returncode}: {completed.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), completed.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="+", help="NAME=path of a memp binary")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--attempts", type=int, default=320)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", default="/tmp/memp-update-bench")
    options = parser.parse_args()
    if options.rounds < 1 or options.attempts < 1:
        parser.error("--rounds and --attempts must be at least 1")
    builds = [tuple(build.split("=", 1)) for build in options.builds]
    if any(len(build) != 2 for build in builds) or len({name for name, _ in builds}) != len(builds):
        parser.error("give each build as NAME=MEMP, each name once")
    shutil.rmtree(options.work, ignore_errors=True)
    os.makedirs(options.work)
    tasks = os.path.join(options.work, "attempts.jsonl")
    with open(tasks, "w") as file:
        for task in attempts(options.attempts, options.seed):
            file.write(json.dumps(task) + "\n")
    for name, memp in builds:
        base = os.path.join(options.work, f"base-{name}")
        run([memp, "init", "--store", base, "--embedder", "hashing", "--dimension", "256"])
        run([memp, "import", "--store", base, SAMPLE])
    figures = {name: [] for name, _ in builds}
    reports = {}
    for round_number in range(options.rounds):
        order = builds if round_number % 2 == 0 else list(reversed(builds))
        for name, memp in order:
            copy = os.path.join(options.work, f"copy-{name}")
            shutil.rmtree(copy, ignore_errors=True)
            base = os.path.join(options.work, f"base-{name}")
            script = f'cp -r "$1" "$2" && exec "$3" update --store "$2" --policy validation --json "$4"'
            wall, cpu, output = run(["sh", "-c", script, "sh", base, copy, memp, tasks])
            figures[name].append((wall, cpu))
            update = json.loads(output.strip().splitlines()[-1])
            reports[name] = {
                "added": len(update["added"]), "merged": len(update["merged"]),
                "failures_not_added": update["skippedFailures"]}
    first = builds[0][0]
    report = {"rounds": options.rounds, "attempts": options.attempts, "builds": {}}
    for name, _ in builds:
        walls = [wall for wall, _ in figures[name]]
        cpus = [cpu for _, cpu in figures[name]]
        entry = {
            "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "walls": walls, "cpus": cpus,
            "update": reports[name]}
        if name != first:
            entry[f"wall_vs_{first}"] = statistics.median(
                [mine / theirs for (mine, _), (theirs, _) in zip(figures[name], figures[first])])
            entry[f"cpu_vs_{first}"] = statistics.median(
                [mine / theirs for (_, mine), (_, theirs) in zip(figures[name], figures[first])])
        report["builds"][name] = entry
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
