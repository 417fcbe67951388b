#!/usr/bin/env python3
"""Records real ScienceWorld trajectories and query sets in Memp's JSON Lines formats.

ScienceWorld (Wang et al. 2022, pip `scienceworld`, needs java on PATH) has 30 task types (boil, melt,
find-animal, grow-plant, test-conductivity, ...), each with many variations split into train and test folds.
Memories come from train variations: the gold action sequence played to its end (outcome: success when the
game scores 100), and for every other variation a truncated gold path (the first third of the steps; the game
reports failure). A memory's task is the task description the game gives for its variation.

Queries come from test variations, whose substances, animals and rooms differ, so a query is never a memory.
Each query has two forms: `long` (the task description followed by the first observation, as an agent prompt
reads) and `short` (the description's first sentence without "Your task is to", an instruction such as "boil
water"); the qid ends in -long or -short. Relevance is by task type: queries.jsonl lists the successful
trajectories of the query's task type, queries-any.jsonl every trajectory of it (successful or not), so an
outcome-aware ranking can be measured under both definitions.

    pip install scienceworld
    python3 scripts/scienceworld_generate.py --out data/scienceworld-sample --train-per-task 8 --test-per-task 2

Same arguments give the same files.
"""
import multiprocessing
import os
import random
import re
import sys

from memp_datasets import generator_parser, relevance_files, write_data_set


def short_form(description):
    first = re.split(r"(?<=\.)\s", description.strip(), maxsplit=1)[0].rstrip(".")
    first = re.sub(r"^Your task is to\s+", "", first)
    return first[0].upper() + first[1:] + "."


def play(env, actions):
    steps, score, done = [], 0, False
    for action in actions:
        observation, _, done, info = env.step(action)
        score = info["score"]
        steps.append({"action": action, "observation": observation.strip()[:600]})
        if done:
            break
    return steps, score


def record_task(arguments):
    """Plays one task type: its train trajectories and its test queries (run in a worker process)."""
    task_name, args = arguments
    from scienceworld import ScienceWorldEnv
    env = ScienceWorldEnv("", envStepLimit=1000)
    rng = random.Random(f"{args.seed}-{task_name}")  # per task, so the worker count doesn't change the files
    trajectories, queries = [], []
    env.load(task_name, 0, generateGoldPath=True)
    train = list(env.get_variations_train())
    test = list(env.get_variations_test())
    kept = 0
    for variation in rng.sample(train, min(len(train), args.train_per_task * 3)):
        if kept >= args.train_per_task:
            break
        env.load(task_name, variation, generateGoldPath=True)
        gold = list(env.get_gold_action_sequence())
        if len(gold) > args.max_gold_steps:
            continue
        description = env.get_task_description().strip()
        truncated = kept % 2 == 1
        env.reset()
        steps, score = play(env, gold[: max(1, len(gold) // 3)] if truncated else gold)
        agent = "truncated" if truncated else "gold"
        trajectories.append({
            "id": f"sw-{task_name}-{variation:03d}-{agent}", "task": description, "steps": steps,
            "outcome": {"success": score >= 100, "reward": round(score / 100, 4)}, "source": "scienceworld",
            "labels": {"taskType": task_name, "fold": "train", "variation": str(variation), "agent": agent}})
        kept += 1
    for number, variation in enumerate(rng.sample(test, min(len(test), args.test_per_task))):
        env.load(task_name, variation, generateGoldPath=False)
        description = env.get_task_description().strip()
        observation, _ = env.reset()
        labels = {"taskType": task_name, "fold": "test", "variation": str(variation)}
        for form, text in (("long", description + " " + observation.strip()), ("short", short_form(description))):
            queries.append({"qid": f"q-{task_name}-{number:02d}-{form}", "query": text,
                            "labels": dict(labels, form=form)})
    env.close()
    print(f"{task_name}: {kept} trajectories", file=sys.stderr, flush=True)
    return trajectories, queries


def main():
    parser = generator_parser(__doc__, "task", "task type", train=8, test=2, episodes="variations")
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: all 30)")
    parser.add_argument("--max-gold-steps", type=int, default=80,
                        help="skip variations whose gold path is longer (they take minutes to play)")
    parser.add_argument("--seed", type=int, default=42, help="picks which variations are used")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one JVM each)")
    args = parser.parse_args()
    from scienceworld import ScienceWorldEnv
    if args.tasks:
        tasks = [t for t in args.tasks.split(",") if t]
    else:
        env = ScienceWorldEnv("", envStepLimit=10)
        tasks = list(env.get_task_names())
        env.close()
    os.makedirs(args.out, exist_ok=True)
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(record_task, [(task, args) for task in tasks], chunksize=1)
    trajectories = [t for result in results for t in result[0]]
    queries = [q for result in results for q in result[1]]
    arguments = {key: value for key, value in vars(args).items() if key != "jobs"}
    write_data_set(args.out, "scripts/scienceworld_generate.py", arguments, trajectories,
                   relevance_files(trajectories, queries, lambda labels: labels["taskType"]))


if __name__ == "__main__":
    main()
