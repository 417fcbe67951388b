#!/usr/bin/env python3
"""An agent loop with procedural memory: look up → act → record the outcome → update every N episodes.

    memp init --store /tmp/agent-store --embedder hashing
    memp serve --store /tmp/agent-store &           # prints: Listening on http://127.0.0.1:8765
    python3 clients/python/examples/agent_loop.py --url http://127.0.0.1:8765

The "environment" here is a toy: a task succeeds when the agent's plan contains the actions the task needs. The
agent starts with no memory and explores; once a successful attempt is stored, later tasks of the same kind find
it and follow it. Replace `act` with your LLM agent's episode.
"""
import argparse
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from memp_client import MempClient, Step  # noqa: E402

TASKS = {
    "make a cup of tea": ["take the kettle", "boil water", "put the teabag in the cup", "pour the water"],
    "water the plants": ["take the watering can", "fill the can at the tap", "water the plants"],
    "wash the dishes": ["fill the sink", "add soap", "scrub the dishes", "rinse the dishes"],
}
ACTIONS = sorted({action for actions in TASKS.values() for action in actions})


def act(task, procedure, rng):
    """One episode: follow the procedure when there is one, else try random actions. Returns (steps, success)."""
    plan = list(procedure) if procedure else rng.sample(ACTIONS, k=7)
    needed = TASKS[task.split(" (")[0]]
    success = all(action in plan for action in needed)
    return [Step(action) for action in plan], success


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--update-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    memp = MempClient(arguments.url)
    finished = []
    successes = 0
    for episode in range(arguments.episodes):
        kind = rng.choice(sorted(TASKS))
        task = f"{kind} (episode {episode})"
        # 1. Look up procedures that worked for similar tasks.
        hits = [hit for hit in memp.lookup(task, k=3) if hit.steps and (hit.outcome is None or hit.outcome.success)]
        used = hits[:1]
        procedure = [step.action for step in used[0].steps] if used else None
        # 2. Act.
        steps, success = act(task, procedure, rng)
        successes += success
        # 3. Record the outcome for the memories used, right away (a memory that keeps failing is deprecated now).
        attempt = f"episode-{arguments.seed}-{episode}"
        if used:
            memp.record_outcome([hit.id for hit in used], success=success, trajectory=attempt)
        # The attempt goes to the update without `used_memories`: the update would count those uses a second time.
        finished.append(MempClient.trajectory(attempt, task, steps, success=success, source="agent-loop"))
        # 4. Every N episodes, let the update policy turn successful attempts into memories.
        if len(finished) == arguments.update_every:
            report = memp.update("validation", finished)
            print(f"episode {episode + 1}: {successes} successes so far; update added {len(report.added)} "
                  f"memories, skipped {report.skipped_failures} failures")
            finished = []
    print(f"{successes}/{arguments.episodes} episodes succeeded; the store holds {memp.stats()['memories']} memories")


if __name__ == "__main__":
    main()
