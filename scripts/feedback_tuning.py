#!/usr/bin/env python3
"""Tuning from the store's record of use, exercised on a development source with a simulated agent.

`memp tune` without --queries tunes on the tasks whose outcome was reported with their trajectory: the memories a
task used when it succeeded are its relevant ones. This builds such a record and measures what tuning on it gives:

1. A store of the source without some of its successful trajectories (a fold written by
   `scripts/procedure_queries.py make`: FOLD/trajectories.jsonl), opened with `memp init` + `memp import`.
2. Each held-out trajectory is a new task: the agent looks its task up (`memp query --queries`, the default
   hybrid, -k USED) and uses the hits. It succeeds when at least one of them is relevant by the source's labels
   (a successful memory of the same task type and goal): an oracle stand-in for an agent that succeeds when it is
   handed a procedure of the right task, and only then. Every memory it used is credited or blamed, relevant or not,
   as a real agent's report would be.
3. The held-out trajectories are imported (an agent keeps its runs), then each outcome is reported with
   `memp feedback --memory ... --success ... --trajectory`.
4. `memp tune --store S` chooses a fusion from that record (cross-validated; recorded only when it beats the
   default on held-out folds), and `memp eval --tuning-folds` on the source's own judged queries, which played no
   part in the record, reports the default and the recorded fusion with bootstrap intervals.

    python3 scripts/feedback_tuning.py --memp .build/release/memp --source data/babyai-sample \
        --fold /tmp/proc/babyai/fold-0 --work /tmp/feedback/babyai
"""
import argparse
import json
import os
import subprocess
import sys


def run(command):
    return subprocess.run(command, check=True, text=True, capture_output=True).stdout


def load(path):
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def relevant_to(task, memory):
    """Whether a stored trajectory is a right procedure for a task: successful, same task type and goal."""
    if not (memory.get("outcome") or {}).get("success"):
        return False
    if memory["labels"].get("taskType") != task["labels"].get("taskType"):
        return False
    goal = task["labels"].get("goal")
    return goal is None or memory["labels"].get("goal") == goal


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memp", required=True)
    parser.add_argument("--source", required=True, help="the source directory (trajectories.jsonl, queries.jsonl)")
    parser.add_argument("--fold", required=True, help="a fold directory of scripts/procedure_queries.py make")
    parser.add_argument("--work", required=True)
    parser.add_argument("--used", type=int, default=3, help="the memories a task uses")
    arguments = parser.parse_args()
    memp, work = arguments.memp, arguments.work
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "store")

    everything = {t["id"]: t for t in load(os.path.join(arguments.source, "trajectories.jsonl"))}
    stored_ids = {t["id"] for t in load(os.path.join(arguments.fold, "trajectories.jsonl"))}
    tasks = [t for id, t in everything.items() if id not in stored_ids]
    if not os.path.exists(store):
        run([memp, "init", "--store", store])
        run([memp, "import", "--store", store, os.path.join(arguments.fold, "trajectories.jsonl")])

    lookups = os.path.join(work, "tasks.jsonl")
    with open(lookups, "w") as file:
        for task in tasks:
            file.write(json.dumps({"qid": task["id"], "query": task["task"]}) + "\n")
    used = {row["qid"]: [hit["id"] for hit in row["hits"]]
            for row in map(json.loads, run([memp, "query", "--store", store, "--queries", lookups, "-k",
                                             str(arguments.used), "--json"]).splitlines())}

    held_out = os.path.join(work, "held-out.jsonl")
    with open(held_out, "w") as file:
        for task in tasks:
            file.write(json.dumps(task) + "\n")
    run([memp, "import", "--store", store, held_out])

    successes = 0
    for task in tasks:
        # A memory built from one trajectory carries its ID, so the hits name the trajectories used.
        succeeded = any(relevant_to(task, everything[id]) for id in used[task["id"]] if id in everything)
        successes += succeeded
        line = os.path.join(work, "task.jsonl")
        with open(line, "w") as file:
            file.write(json.dumps(task) + "\n")
        command = [memp, "feedback", "--store", store, "--success", "true" if succeeded else "false",
                   "--trajectory", line]
        for id in used[task["id"]]:
            command += ["--memory", id]
        run(command)
    print(f"{len(tasks)} tasks reported, {successes} succeeded (oracle: a relevant memory among the "
          f"{arguments.used} used)", flush=True)
    print(run([memp, "tune", "--store", store]), flush=True)
    print(run([memp, "eval", "--store", store, "--queries", os.path.join(arguments.source, "queries.jsonl"),
               "--modes", "hybrid", "--tuning-folds", "5"]))


if __name__ == "__main__":
    sys.exit(main())
