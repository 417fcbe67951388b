"""TextWorldExpress pieces shared by Memp's scripts: the game set, its small layouts, the folds and one episode.

Used by scripts/textworld_generate.py (trajectory and query sets) and scripts/memory_effect.py (the agent
experiment). TextWorldExpress runs a JVM: `pip install textworld-express` and `java` on PATH.
"""
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


EXPLORER_SKIPS = ("look around", "inventory", "task")  # actions that show state but never change it


def play(env, first_infos, agent, step_limit):
    """Runs one episode with `agent` until the game ends, the agent stops or `step_limit` actions were taken.

    `agent.act(infos)` returns the next action (None stops); `agent.observe(action, observation, infos)`, if the
    agent has it, sees each result. Returns the steps ({action, observation}), the success flag and the score
    as the game reports them."""
    steps, success, reward, infos = [], False, 0.0, first_infos
    observe = getattr(agent, "observe", None)
    for _ in range(step_limit):
        action = agent.act(infos)
        if action is None:
            break
        obs, _, done, infos = env.step(action)
        steps.append({"action": action, "observation": clean(obs)})
        reward = float(infos.get("score", 0.0))
        success = bool(infos.get("tasksuccess"))
        if observe:
            observe(action, clean(obs), infos)
        if done:
            break
    return steps, success, reward


class Replay:
    """Plays a fixed action list (the gold path, or a prefix of it)."""

    def __init__(self, actions):
        self.actions = iter(actions)

    def act(self, infos):
        return next(self.actions, None)


class RandomWalk:
    """A seeded uniform choice among the valid actions that can change the game."""

    def __init__(self, rng):
        self.rng = rng

    def act(self, infos):
        actions = sorted(a for a in infos["validActions"] if a not in EXPLORER_SKIPS)
        return self.rng.choice(actions) if actions else None


def run(env, actions, step_limit):
    return play(env, None, Replay(actions), step_limit)


def random_walk(env, first_infos, rng, step_limit):
    return play(env, first_infos, RandomWalk(rng), step_limit)


def episode(env, game, fold, seed, gold_path=True):
    """Starts one game; returns the task text an agent sees, the game's task description and the first infos.

    With gold_path=False the game never computes its gold action sequence (an evaluated agent can't read it)."""
    obs, infos = env.reset(seed=seed, gameFold=fold, gameName=game, gameParams=GAME_PARAMS[game],
                           generateGoldPath=gold_path)
    description = clean(env.getTaskDescription())
    task = f"{description} {clean(obs)}".strip()
    return task, description, infos


def open_env(step_limit):
    """A TextWorldExpress environment, or an exit that says what to install."""
    try:
        from textworld_express import TextWorldExpressEnv
    except ImportError:
        sys.exit("textworld-express is not installed: pip install textworld-express (it also needs java on PATH)")
    try:
        return TextWorldExpressEnv(envStepLimit=step_limit)
    except FileNotFoundError as error:
        sys.exit(f"TextWorldExpress could not start its JVM ({error}): install java (openjdk-17-jre-headless)")
