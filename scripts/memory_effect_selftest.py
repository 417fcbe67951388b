"""Checks of the memory-effect agents that need neither java nor memp: `memory_effect.py --self-test`.

The step adaptation (similarity, placeholder binding, script parsing, procedures from `memp query --contents`
hits) on hand-made cases with exact expected values, and both agents on a small deterministic fake game.
"""
import random
import sys

from memp_agent import Explorer, GuidedAgent, Procedure, bind, script_steps, similarity
from memp_twx import play


class Corridor:
    """A fake game: rooms 0-3 in a row, the coin in room 3; taking it wins. Distractor actions change nothing."""

    def __init__(self):
        self.room, self.won = 0, False

    def infos(self):
        valid = ["look around", "inventory", "examine wall", "open box"]
        valid += ["move east"] if self.room < 3 else ["take coin"]
        valid += ["move west"] if self.room > 0 else []
        return {"validActions": valid, "look": f"room {self.room}", "inventory": "coin" if self.won else "",
                "score": 1.0 if self.won else 0.0, "tasksuccess": self.won}

    def step(self, action):
        if action == "move east" and self.room < 3:
            self.room += 1
        elif action == "move west" and self.room > 0:
            self.room -= 1
        elif action == "take coin" and self.room == 3:
            self.won = True
        observation = f"You are in room {self.room}." if action.startswith("move") else "Nothing happens."
        return observation, 0.0, self.won, self.infos()


def checks():
    yield "same action", similarity("move south", "move south"), 1.0
    yield "other verb", similarity("move south", "take coin"), 0.0
    yield "same verb, other words", similarity("move south", "move north"), 0.5
    yield "numbers generalized", similarity("take 6 pineapples", "take 37 pineapples"), 1.0
    yield "one word of two", similarity("take red apple", "take green apple"), 0.5 + 0.5 * 1 / 3
    yield "placeholder", similarity("take [OBJECT1]", "take court shoes"), 0.75
    yield "bound placeholder", similarity("put [OBJECT1] in [OBJECT2]", "put court shoes in shoe cabinet",
                                          {"[OBJECT1]": "court shoes"}), 0.5 + 0.5 * 4 / 5
    yield "bound to other words", similarity("put [OBJECT1] in box", "put umbrella in box",
                                             {"[OBJECT1]": "court shoes"}), 0.5 + 0.5 * 2 / 5
    yield "bind", bind("put [OBJECT1] in [OBJECT2]", "put court shoes in shoe cabinet", {}), \
        {"[OBJECT1]": "court shoes", "[OBJECT2]": "shoe cabinet"}
    yield "bind keeps earlier", bind("take [OBJECT1]", "take umbrella", {"[OBJECT1]": "court shoes"}), \
        {"[OBJECT1]": "court shoes"}
    yield "bind with numbers", bind("take 4 [OBJECT1]", "take 26 apples", {}), {"[OBJECT1]": "apples"}
    yield "bind misaligned", bind("put [OBJECT1] in box", "take coin", {}), {}
    script = ("Task: find the [OBJECT1]\n1. look around\n2. move north (2 times)\n3. open cabinet N for N in 1, 2\n"
              "4. take [OBJECT1]\n"
              'Warning: a failed attempt did "take coin" and got "You don\'t see that here."; avoid it or check it '
              "first.")
    yield "script", script_steps(script), \
        (["look around", "move north", "move north", "open cabinet 1", "open cabinet 2", "take [OBJECT1]"],
         {"take coin"})
    hit = {"id": "m1", "steps": [{"action": "look around"}, {"action": "take coin"}, {"action": "eat coin"}],
           "script": "Task: x\n1. look around\n2. take [OBJECT1]\n3. eat [OBJECT1]"}
    procedure = Procedure.from_hit(hit)
    yield "proceduralization spellings", procedure.steps, \
        [["look around"], ["take coin", "take [OBJECT1]"], ["eat coin", "eat [OBJECT1]"]]
    yield "script only", Procedure.from_hit({"id": "m2", "script": hit["script"]}).steps, \
        [["look around"], ["take [OBJECT1]"], ["eat [OBJECT1]"]]
    yield "trajectory only", Procedure.from_hit({"id": "m3", "steps": hit["steps"]}).steps, \
        [["look around"], ["take coin"], ["eat coin"]]

    route = [["move east"], ["move east"], ["move east"], ["take [OBJECT1]"]]
    guided_steps, guided_wins, explorer_wins, used = set(), 0, 0, set()
    for seed in range(50):
        game = Corridor()
        agent = GuidedAgent([Procedure("route", route)], Explorer(random.Random(seed)))
        steps, success, _ = play(game, game.infos(), agent, 6)
        guided_steps.add(len(steps))
        guided_wins += success
        used.update(agent.used)
        game = Corridor()
        _, success, _ = play(game, game.infos(), GuidedAgent([], Explorer(random.Random(seed))), 6)
        explorer_wins += success
    yield "guided agent follows the route", (guided_wins, guided_steps, used), (50, {4}, {"route"})
    yield "explorer rarely finds it in 6 steps", explorer_wins < 25, True

    # A wrong first procedure (no step fits) is given up after a few explored steps; the second one is followed.
    game = Corridor()
    wrong = Procedure("wrong", [["read map"], ["read map"]])
    agent = GuidedAgent([wrong, Procedure("route", route)], Explorer(random.Random(1)))
    steps, success, _ = play(game, game.infos(), agent, 30)
    yield "falls through a procedure that fits nothing", (success, agent.used), (True, ["route"])

    # A step whose action changes nothing is tried twice at most, then skipped.
    game = Corridor()
    stubborn = Procedure("stubborn", [["examine wall"], ["move east"], ["move east"], ["move east"], ["take coin"]])
    agent = GuidedAgent([stubborn], Explorer(random.Random(3)))
    steps, success, _ = play(game, game.infos(), agent, 10)
    yield "no-progress step skipped", (success, [s["action"] for s in steps][:2]), \
        (True, ["examine wall", "move east"])

    # A warning keeps the agent off the action it names.
    game = Corridor()
    avoid = Procedure("avoid", [["open box"], ["move east"]], avoid={"open box"})
    agent = GuidedAgent([avoid], Explorer(random.Random(4)))
    steps, _, _ = play(game, game.infos(), agent, 3)
    yield "warning avoided", "open box" in [s["action"] for s in steps[:1]], False


def run_self_test():
    failures = 0
    for name, actual, expected in checks():
        same = abs(actual - expected) < 1e-9 if isinstance(expected, float) else actual == expected
        if not same:
            failures += 1
            print(f"FAIL {name}: got {actual!r}, expected {expected!r}", file=sys.stderr)
    print(f"self-test: {failures} failed" if failures else "self-test: all checks passed")
    return 1 if failures else 0
