#!/usr/bin/env python3
"""Records real TextWorldExpress trajectories and query sets in Memp's JSON Lines formats.

Trajectories come from the `train` fold: the gold action sequence (outcome: success, as the game reports it),
a seeded random walk over the valid actions and a truncated gold path (outcome: whatever the game reports,
almost always failure). Queries come from the `test` fold, whose objects and layouts never appear in `train`,
so a query never appears as a memory. A query's relevant memories are the successful trajectories of the same
game type and, where the game exposes a goal (mapreader's locations, arithmetic's operation), the same goal.

The task text is what an agent sees when the episode starts: the game's task description followed by the first
observation (as ALFWorld prompts do), so tasks of one game type differ by their rooms and objects.

    pip install textworld-express      # needs java on PATH
    python3 scripts/textworld_generate.py --out data/tw --train-per-game 40 --test-per-game 10

Same arguments give the same files.
"""
import argparse
import hashlib
import json
import os
import random
import re
import sys

GAMES = ["twc", "cookingworld", "coin", "mapreader", "arithmetic", "sorting", "simonsays", "peckingorder"]
# Small layouts keep episodes short; every parameter is one the game documents.
GAME_PARAMS = {
    "twc": "numLocations=2,numItemsToPutAway=2,includeDoors=0",
    "cookingworld": "numLocations=2,numIngredients=2,numDistractorItems=2,includeDoors=0",
    "coin": "numLocations=4,numDistractorItems=2,includeDoors=0",
    "mapreader": "numLocations=6,maxDistanceApart=3,maxDistractorItemsPerLocation=1,includeDoors=0",
    "arithmetic": "",
    "sorting": "",
    "simonsays": "gameLength=4,numDistractors=2",
    "peckingorder": "",
}
FOLD_SEEDS = {"train": range(0, 1000), "test": range(20000, 21000)}


def clean(text):
    return re.sub(r"\s+", " ", text or "").strip()


def goal_of(game, env, task):
    """The part of the goal a game states, or None when the task text is the same for every episode."""
    props = env.getGenerationProperties()
    if game == "mapreader":
        match = re.search(r"located in the (.+?), and put it into the box found in the (.+?)\.", task)
        return f"{match.group(1)} -> {match.group(2)}" if match else None
    if game == "arithmetic":
        return {0: "add", 1: "subtract", 2: "multiply", 3: "divide"}.get(props.get("hidden_op"))
    return None


def run(env, actions, step_limit):
    steps, success, reward = [], False, 0.0
    for action in actions[:step_limit]:
        obs, _, done, infos = env.step(action)
        steps.append({"action": action, "observation": clean(obs)})
        reward = float(infos.get("score", 0.0))
        success = bool(infos.get("tasksuccess"))
        if done:
            break
    return steps, success, reward


def random_walk(env, first_infos, rng, step_limit):
    steps, success, reward, infos = [], False, 0.0, first_infos
    for _ in range(step_limit):
        actions = sorted(a for a in infos["validActions"] if a not in ("look around", "inventory", "task"))
        if not actions:
            break
        action = rng.choice(actions)
        obs, _, done, infos = env.step(action)
        steps.append({"action": action, "observation": clean(obs)})
        reward = float(infos.get("score", 0.0))
        success = bool(infos.get("tasksuccess"))
        if done:
            break
    return steps, success, reward


def episode(env, game, fold, seed):
    obs, infos = env.reset(seed=seed, gameFold=fold, gameName=game, gameParams=GAME_PARAMS[game],
                           generateGoldPath=True)
    description = clean(env.getTaskDescription())
    task = f"{description} {clean(obs)}".strip()
    return task, description, infos


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated game types")
    parser.add_argument("--train-per-game", type=int, default=40, help="train episodes per game type")
    parser.add_argument("--test-per-game", type=int, default=10, help="test episodes (queries) per game type")
    parser.add_argument("--random-per-game", type=int, default=None,
                        help="random-walk (usually failed) trajectories per game type (default: half the train count)")
    parser.add_argument("--step-limit", type=int, default=40, help="steps per random or truncated episode")
    parser.add_argument("--seed", type=int, default=42, help="picks which game seeds are used")
    args = parser.parse_args()
    try:
        from textworld_express import TextWorldExpressEnv
    except ImportError:
        sys.exit("textworld-express is not installed: pip install textworld-express (it also needs java on PATH)")

    games = [g for g in args.games.split(",") if g]
    unknown = [g for g in games if g not in GAME_PARAMS]
    if unknown:
        sys.exit(f"unknown game type(s) {unknown}; choose from {GAMES}")
    random_count = args.train_per_game // 2 if args.random_per_game is None else args.random_per_game
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    env = TextWorldExpressEnv(envStepLimit=10_000)
    trajectories, queries = [], []
    memories_by_key = {}
    for game in games:
        train_seeds = rng.sample(list(FOLD_SEEDS["train"]), args.train_per_game + random_count)
        for index, seed in enumerate(train_seeds):
            task, description, infos = episode(env, game, "train", seed)
            goal = goal_of(game, env, description)
            gold = env.getGoldActionSequence()
            labels = {"taskType": game, "fold": "train", "seed": str(seed)}
            if goal:
                labels["goal"] = goal
            if index < args.train_per_game:
                variants = [("gold", lambda: run(env, gold, len(gold) + 1))]
                if index % 2 == 1:
                    variants.append(("truncated", lambda: run(env, gold, max(1, len(gold) // 2))))
            else:
                walk_rng = random.Random(seed * 7919 + args.seed)
                variants = [("random", lambda: random_walk(env, infos, walk_rng, args.step_limit))]
            for number, (agent, play) in enumerate(variants):
                if number > 0:
                    _, _, infos = episode(env, game, "train", seed)
                steps, success, reward = play()
                record = {"id": f"tw-{game}-{seed:04d}-{agent}", "task": task, "steps": steps,
                          "outcome": {"success": success, "reward": round(reward, 4)},
                          "source": "textworld-express", "labels": dict(labels, agent=agent)}
                trajectories.append(record)
                if success:
                    for key in {(game, goal), (game, None)}:
                        memories_by_key.setdefault(key, []).append(record["id"])
        for number, seed in enumerate(rng.sample(list(FOLD_SEEDS["test"]), args.test_per_game)):
            task, description, _ = episode(env, game, "test", seed)
            goal = goal_of(game, env, description)
            relevant = memories_by_key.get((game, goal)) or memories_by_key.get((game, None), [])
            labels = {"taskType": game, "fold": "test", "seed": str(seed)}
            if goal:
                labels["goal"] = goal
            queries.append({"qid": f"q-{game}-{number:03d}", "query": task, "relevant": sorted(relevant),
                            "labels": labels})
    env.close()
    for name, rows in (("trajectories.jsonl", trajectories), ("queries.jsonl", queries)):
        with open(os.path.join(args.out, name), "w") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True) + "\n")
    manifest = {"generator": "scripts/textworld_generate.py", "arguments": vars(args),
                "trajectories": len(trajectories), "successful": sum(t["outcome"]["success"] for t in trajectories),
                "queries": len(queries),
                "sha256": {name: hashlib.sha256(open(os.path.join(args.out, name), "rb").read()).hexdigest()
                           for name in ("trajectories.jsonl", "queries.jsonl")}}
    with open(os.path.join(args.out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    print(json.dumps({k: manifest[k] for k in ("trajectories", "successful", "queries")}))


if __name__ == "__main__":
    main()
