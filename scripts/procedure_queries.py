#!/usr/bin/env python3
"""Procedure-describing queries for a development source, from held-out trajectories' actions.

The committed query sets describe goals ("Find a(n) animal."). This derives queries that describe a procedure
instead: the actions of a successful trajectory that the store does not hold, in order, with repeats collapsed
("open door to kitchen, go to kitchen, focus on dove, pick up dove, ..."). Each query's relevant memories are the
store's successful trajectories of the same task type (and goal, where the source labels one), as in the source's
own queries.jsonl.

`make` deals a source's successful trajectories to FOLDS folds (per task type, in a seeded order, so every fold
holds every type with at least FOLDS successes) and writes, for each fold f, OUT/fold-f/trajectories.jsonl (every
trajectory but fold f's) and OUT/fold-f/queries.jsonl (one query per trajectory of fold f, labelled
form=procedure and taskType). Importing each fold's trajectories into its own store and evaluating its queries
there measures every successful trajectory as a query exactly once, never against itself.

`summarize` averages `memp eval --json` reports of the fold stores over their judged queries: per setting, the
query-weighted mean of Hit@1 and nDCG@10 across folds.

    python3 scripts/procedure_queries.py make data/scienceworld-sample /tmp/proc/scienceworld [--folds 4]
    python3 scripts/procedure_queries.py summarize /tmp/proc/scienceworld/fold-*.json
"""
import argparse
import hashlib
import json
import os
import random
import sys

#: The most actions a query keeps (after collapsing repeats): a description, not a replay of a long walk.
MAXIMUM_ACTIONS = 20


def load(path):
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def succeeded(trajectory):
    return bool((trajectory.get("outcome") or {}).get("success"))


def procedure_text(trajectory):
    actions = []
    for step in trajectory["steps"]:
        action = step["action"].strip()
        if action and (not actions or actions[-1] != action):
            actions.append(action)
    return ", ".join(actions[:MAXIMUM_ACTIONS])


def same_goal(a, b):
    if a["labels"].get("taskType") != b["labels"].get("taskType"):
        return False
    goal = a["labels"].get("goal")
    return goal is None or b["labels"].get("goal") == goal


def make(source, out, folds, seed):
    trajectories = load(os.path.join(source, "trajectories.jsonl"))
    by_type = {}
    for trajectory in trajectories:
        if succeeded(trajectory) and procedure_text(trajectory):
            by_type.setdefault(trajectory["labels"].get("taskType"), []).append(trajectory)
    fold_of = {}
    generator = random.Random(seed)
    for task_type in sorted(by_type, key=str):
        members = sorted(by_type[task_type], key=lambda t: t["id"])
        generator.shuffle(members)
        for index, trajectory in enumerate(members):
            fold_of[trajectory["id"]] = index % folds
    summary = []
    for fold in range(folds):
        directory = os.path.join(out, f"fold-{fold}")
        os.makedirs(directory, exist_ok=True)
        stored = [t for t in trajectories if fold_of.get(t["id"]) != fold]
        held_out = [t for t in trajectories if fold_of.get(t["id"]) == fold]
        with open(os.path.join(directory, "trajectories.jsonl"), "w") as file:
            for trajectory in stored:
                file.write(json.dumps(trajectory, sort_keys=True) + "\n")
        queries = []
        for trajectory in held_out:
            relevant = sorted(t["id"] for t in stored if succeeded(t) and same_goal(trajectory, t))
            labels = {"form": "procedure", "taskType": trajectory["labels"].get("taskType")}
            if "goal" in trajectory["labels"]:
                labels["goal"] = trajectory["labels"]["goal"]
            queries.append({"qid": "p-" + trajectory["id"], "query": procedure_text(trajectory),
                            "relevant": relevant, "labels": labels})
        with open(os.path.join(directory, "queries.jsonl"), "w") as file:
            for query in queries:
                file.write(json.dumps(query, sort_keys=True) + "\n")
        digest = hashlib.sha256(open(os.path.join(directory, "queries.jsonl"), "rb").read()).hexdigest()
        summary.append({"fold": fold, "trajectories": len(stored), "queries": len(queries),
                        "judged": sum(1 for q in queries if q["relevant"]), "queries_sha256": digest})
    json.dump({"source": source, "folds": folds, "seed": seed, "maximum_actions": MAXIMUM_ACTIONS,
               "per_fold": summary}, sys.stdout, indent=1)
    print()


def summarize(reports):
    totals = {}
    order = []
    for path in reports:
        with open(path) as file:
            report = json.load(file)
        for store in report["stores"]:
            for run in store["runs"] + store["fusionRuns"]:
                # Stores built per build policy (`memp eval --trajectories`) are told apart by their label.
                name = setting_name(run["setting"])
                if len(report["stores"]) > 1:
                    name = f"{store['store']['label']}: {name}"
                if name not in totals:
                    totals[name] = [0, 0.0, 0.0]
                    order.append(name)
                judged = run["judgedQueries"]
                totals[name][0] += judged
                totals[name][1] += run["metrics"]["hitAt1"] * judged
                totals[name][2] += run["metrics"]["ndcgAt10"] * judged
    print("| setting | judged queries | Hit@1 | nDCG@10 |")
    print("|---|---:|---:|---:|")
    for name in order:
        judged, hit, ndcg = totals[name]
        print(f"| {name} | {judged} | {hit / judged:.4f} | {ndcg / judged:.4f} |")


def setting_name(setting):
    """The run's name as `memp eval` prints it (RetrievalSetting.name)."""
    def number(value):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if setting["policy"] != "hybrid":
        return setting["policy"]
    procedure = f" proc={number(setting['procedureWeight'])}" if setting.get("procedureWeight") is not None else ""
    if setting.get("fusion"):
        return f"hybrid {setting['fusion']}{procedure}"
    if setting.get("alpha") is not None:
        return f"hybrid a={number(setting['alpha'])}{procedure}"
    if setting.get("rankConstant") is not None:
        return f"hybrid rrf:{number(setting['rankConstant'])}{procedure}"
    return "hybrid" + procedure


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    maker = commands.add_parser("make", help="write the fold stores' trajectories and procedure queries")
    maker.add_argument("source", help="a source directory with trajectories.jsonl")
    maker.add_argument("out", help="the output directory (fold-0, fold-1, ...)")
    maker.add_argument("--folds", type=int, default=4)
    maker.add_argument("--seed", type=int, default=0)
    summarizer = commands.add_parser("summarize", help="average `memp eval --json` reports of the folds")
    summarizer.add_argument("reports", nargs="+")
    arguments = parser.parse_args()
    if arguments.command == "make":
        if arguments.folds < 2:
            parser.error("--folds must be at least 2")
        make(arguments.source, arguments.out, arguments.folds, arguments.seed)
    else:
        summarize(arguments.reports)


if __name__ == "__main__":
    main()
