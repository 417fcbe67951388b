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

Same arguments give the same files, except the coin game's trajectories: TextWorldExpress 1.1.0 does not fix
the coin layout by the seed (two runs differed in 39 of the sample's 80 coin trajectories; the queries matched).
"""
import os
import random
import sys

from memp_datasets import generator_parser, write_data_set
from memp_twx import FOLD_SEEDS, GAME_PARAMS, GAMES, episode, goal_of, open_env, random_walk, run

def main():
    parser = generator_parser(__doc__, "game", "game type", train=40, test=10)
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated game types")
    parser.add_argument("--random-per-game", type=int, default=None,
                        help="random-walk (usually failed) trajectories per game type (default: half the train count)")
    parser.add_argument("--step-limit", type=int, default=40, help="steps per random or truncated episode")
    parser.add_argument("--seed", type=int, default=42, help="picks which game seeds are used")
    args = parser.parse_args()
    games = [g for g in args.games.split(",") if g]
    unknown = [g for g in games if g not in GAME_PARAMS]
    if unknown:
        sys.exit(f"unknown game type(s) {unknown}; choose from {GAMES}")
    random_count = args.train_per_game // 2 if args.random_per_game is None else args.random_per_game
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    env = open_env(10_000)
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
    write_data_set(args.out, "scripts/textworld_generate.py", vars(args), trajectories,
                   {"trajectories.jsonl": trajectories, "queries.jsonl": queries})


if __name__ == "__main__":
    main()
