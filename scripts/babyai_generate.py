#!/usr/bin/env python3
"""Records BabyAI bot demonstrations and query sets in Memp's JSON Lines formats.

BabyAI (Chevalier-Boisvert et al. 2019; pip `minigrid`) gives a grid-world agent a language mission ("pick up
the red ball", "open the door on your left", "put the yellow key next to the purple box", "go to a box and
then pick up the grey key"). The levels' own expert, `minigrid.utils.baby_ai_bot.BabyAIBot`, plays it.
Memories come from seeds below 10,000: the bot's full plan (outcome: the environment's success and reward),
and for some seeds a truncated plan or a seeded random walk (the environment reports failure unless the walk
happens to succeed). A memory's task is the mission followed by what the agent sees at the start; each step's
observation says what is in front of the agent and what it carries.

Queries come from seeds of 100,000 and up (new layouts and objects), in two forms: `short` (the mission alone,
an instruction) and `long` (the mission and the first view, as an agent prompt reads); the qid ends in -short
or -long. Relevance is by mission type: the mission with colours, object kinds and locations removed ("pick
up", "put next to", "go to, then pick up"), so any memory of the same procedure is relevant whatever object
it handled. queries.jsonl lists the successful trajectories of that type, queries-any.jsonl all of them.

    pip install minigrid
    python3 scripts/babyai_generate.py --out data/babyai-sample --train-per-level 40 --test-per-level 12

Same arguments give the same files.
"""
import os
import random
import re
import sys

from memp_datasets import generator_parser, relevance_files, write_data_set

LEVELS = ["GoToLocal", "PickupLoc", "OpenDoorLoc", "PutNextLocal", "UnlockLocal", "GoToSeq", "ActionObjDoor",
          "Synth"]
ACTION_NAMES = ["turn left", "turn right", "move forward", "pick up", "drop", "toggle", "done"]
OBJECTS = {"key", "ball", "box", "door"}
COLOURS = r"(red|green|blue|purple|yellow|grey)"


def mission_type(mission):
    """The mission's procedure: its verbs and connectors, without colours, objects or places."""
    text = re.sub(COLOURS, "", mission)
    text = re.sub(r"\b(a|the)\b", "", text)
    text = re.sub(r"\b(key|ball|box|door|object)s?\b", "", text)
    text = re.sub(r"(on your left|on your right|in front of you|behind you)", "", text)
    text = text.replace(" next to", " next-to")
    return "-".join(text.split()) or mission


def describe_view(image):
    """What the egocentric 7×7 view shows: objects with their offsets from the agent."""
    seen = []
    for column in range(image.shape[0]):
        for row in range(image.shape[1]):
            kind, colour, state = (int(v) for v in image[column][row])
            name = {5: "key", 6: "ball", 7: "box", 4: "door"}.get(kind)
            if name is None:
                continue
            ahead, side = 6 - row, column - 3
            where = f"{ahead} ahead" if ahead else "beside you"
            if side:
                where += f", {abs(side)} to the {'right' if side > 0 else 'left'}"
            colour_name = ["red", "green", "blue", "purple", "yellow", "grey"][colour]
            extra = {1: " (closed)", 2: " (locked)"}.get(state, "") if name == "door" else ""
            seen.append(f"a {colour_name} {name}{extra} {where}")
    return "You see " + "; ".join(seen) + "." if seen else "You see only walls and floor."


def front_text(env):
    unwrapped = env.unwrapped
    cell = unwrapped.grid.get(*unwrapped.front_pos)
    facing = f"facing a {cell.color} {cell.type}" if cell is not None else "facing empty floor"
    carrying = unwrapped.carrying
    return facing + (f"; carrying a {carrying.color} {carrying.type}" if carrying is not None else "")


def play(env, choose, limit):
    steps, success, reward = [], False, 0.0
    for _ in range(limit):
        action = choose()
        _, reward, terminated, truncated, _ = env.step(action)
        steps.append({"action": ACTION_NAMES[int(action)], "observation": front_text(env)})
        if terminated or truncated:
            success = terminated and reward > 0
            break
    return steps, success, float(reward)


def episode(gym, level, seed):
    env = gym.make(f"BabyAI-{level}-v0")
    observation, _ = env.reset(seed=seed)
    return env, observation["mission"], describe_view(observation["image"])


def main():
    parser = generator_parser(__doc__, "level", "level", train=40, test=12)
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated BabyAI levels")
    parser.add_argument("--seed", type=int, default=42, help="picks which environment seeds are used")
    args = parser.parse_args()
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the BabyAI levels)
    from minigrid.utils.baby_ai_bot import BabyAIBot
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    trajectories, queries = [], []
    for level in [name for name in args.levels.split(",") if name]:
        for index, seed in enumerate(rng.sample(range(10_000), args.train_per_level)):
            env, mission, view = episode(gym, level, seed)
            if index % 4 == 3:
                walk = random.Random(seed * 7919 + args.seed)
                agent = "random"
                steps, success, reward = play(env, lambda: walk.randrange(6), 20)
            else:
                bot = BabyAIBot(env.unwrapped)
                agent = "truncated" if index % 4 == 2 else "bot"
                steps, success, reward = play(env, bot.replan, 200)
                if agent == "truncated":
                    env, mission, view = episode(gym, level, seed)
                    bot = BabyAIBot(env.unwrapped)
                    steps, success, reward = play(env, bot.replan, max(1, len(steps) // 2))
            env.close()
            kind = mission_type(mission)
            record = {"id": f"babyai-{level}-{seed:04d}-{agent}", "task": f"{mission}. {view}", "steps": steps,
                      "outcome": {"success": success, "reward": round(reward, 4)}, "source": "babyai",
                      "labels": {"taskType": kind, "level": level, "seed": str(seed), "agent": agent}}
            trajectories.append(record)
        for number, seed in enumerate(rng.sample(range(100_000, 200_000), args.test_per_level)):
            env, mission, view = episode(gym, level, seed)
            env.close()
            labels = {"taskType": mission_type(mission), "level": level, "seed": str(seed)}
            form = "short" if number % 2 == 0 else "long"
            text = mission[0].upper() + mission[1:] + "." if form == "short" else f"{mission}. {view}"
            queries.append({"qid": f"q-{level}-{number:03d}-{form}", "query": text, "labels": dict(labels, form=form)})
        print(f"{level}: done", file=sys.stderr, flush=True)
    write_data_set(args.out, "scripts/babyai_generate.py", vars(args), trajectories,
                   relevance_files(trajectories, queries, lambda labels: labels["taskType"]))

if __name__ == "__main__":
    main()
