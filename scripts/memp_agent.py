"""The agents of the memory-effect experiment (scripts/memory_effect.py) and how they adapt remembered steps.

- `Explorer`: the weak agent. A seeded random explorer over the game's valid actions: it never repeats an action
  that already failed to change the current state while another is untried, and half the time it picks among
  the actions whose words the latest observation mentions (a game that says "take the orange" gets "take
  orange" more often than chance). It never reads the gold path or the memory.
- `GuidedAgent`: the same explorer guided by retrieved procedures. It follows the best procedure step by step:
  each remembered step is matched to the most similar currently valid action (`similarity`: the same verb, then
  the overlap of the other words, numbers and placeholders such as [OBJECT1] generalized, a placeholder bound to
  the words it matched the first time), advanced only when the action made progress (score up, the room or the
  inventory changed, or a new observation), and it falls back to the explorer when no valid action fits the next
  steps. It skips actions a memory's warnings say failed. When a procedure is used up it moves to the next one.
  With no procedures it is the explorer with the same progress bookkeeping: the no-memory condition.

Memories come from `memp query --queries FILE --json --contents`: each hit's `steps` (trajectory and
proceduralization build policies) and `script` (script and proceduralization) become a `Procedure`.
"""
import re
from collections import Counter

from memp_twx import EXPLORER_SKIPS

PLACEHOLDER = re.compile(r"^\[[A-Z]+\d*\]$")
TOKEN = re.compile(r"\[[A-Za-z]+\d*\]|[^\s\[\]]+")
NUMBER = re.compile(r"^\d+(\.\d+)?$")
WORD = re.compile(r"[a-z0-9]+")
SCRIPT_STEP = re.compile(r"^\s*\d+\.\s+(.+?)\s*$")
REPEATED = re.compile(r"^(.*\S)\s+\((\d+) times\)$")
SERIES = re.compile(r"^(.*\bN\b.*?)\s+for N in ([\w\s,]+)$")
WARNING = re.compile(r'^\s*Warning: a failed attempt did "(.+?)" and got ')
STOP_WORDS = {"a", "an", "the", "in", "on", "to", "of", "and", "into", "from", "with", "at", "is", "you", "it"}
MATCH_FLOOR = 0.5  # the same verb and nothing else in common; below it a step doesn't fit an action
MAX_STALLS = 3  # explored steps in a row without a fitting action before a procedure step is given up


def tokens(action):
    """Lower-cased words of an action; placeholders such as [OBJECT1] kept as they are."""
    return [t if PLACEHOLDER.match(t) else t.lower() for t in TOKEN.findall(action)]


def _general(token):
    return "#" if NUMBER.match(token) else token


def similarity(remembered, valid, bindings=None):
    """How well a currently valid action fits a remembered step: 0 for another verb, else 0.5 to 1.

    0.5 + 0.5 x the overlap of the other words (numbers count as equal to any number; a word of the valid action
    that the step has a placeholder for counts half). Placeholders bound earlier in the episode are replaced by
    the words they matched."""
    remembered_tokens = []
    for token in tokens(remembered):
        bound = (bindings or {}).get(token)
        remembered_tokens.extend(tokens(bound) if bound else [token])
    valid_tokens = tokens(valid)
    if not remembered_tokens or not valid_tokens or remembered_tokens[0] != valid_tokens[0]:
        return 0.0
    literal = [_general(t) for t in remembered_tokens[1:] if not PLACEHOLDER.match(t)]
    wild = any(PLACEHOLDER.match(t) for t in remembered_tokens[1:])
    rest = [_general(t) for t in valid_tokens[1:]]
    if not literal and not rest:
        return 1.0
    common = sum((Counter(literal) & Counter(rest)).values())
    union = len(literal) + len(rest) - common
    explained = 0.5 * (len(rest) - common) if wild else 0.0
    return 0.5 + 0.5 * (common + explained) / union if union else 1.0


def bind(remembered, valid, bindings):
    """The placeholder bindings after `remembered` was carried out as `valid` (unchanged when they don't align)."""
    parts, names = [], []
    for token in tokens(remembered):
        if PLACEHOLDER.match(token):
            if token in bindings:
                parts.append(re.escape(bindings[token]))
            else:
                parts.append("(.+?)")
                names.append(token)
        else:
            parts.append(r"\d+" if NUMBER.match(token) else re.escape(token))
    match = re.fullmatch(r"\s+".join(parts), " ".join(tokens(valid)))
    if not match or not names:
        return bindings
    updated = dict(bindings)
    for name, value in zip(names, match.groups()):
        updated.setdefault(name, value)
    return updated


def script_steps(script):
    """The actions of a numbered script, runs and series expanded, and the actions its warnings say failed."""
    steps, avoid = [], set()
    for line in (script or "").splitlines():
        warning = WARNING.match(line)
        if warning:
            avoid.add(warning.group(1))
            continue
        step = SCRIPT_STEP.match(line)
        if not step:
            continue
        text = step.group(1)
        repeated = REPEATED.match(text)
        series = SERIES.match(text)
        if repeated:
            steps.extend([repeated.group(1)] * int(repeated.group(2)))
        elif series:
            for value in (v.strip() for v in series.group(2).split(",") if v.strip()):
                steps.append(re.sub(r"\bN\b", value, series.group(1)))
        else:
            steps.append(text)
    return steps, avoid


class Procedure:
    """What an agent follows from one memory: steps, each with one or more spellings, and actions to avoid."""

    def __init__(self, memory_id, steps, avoid=()):
        self.memory_id = memory_id
        self.steps = steps
        self.avoid = set(avoid)

    @classmethod
    def from_hit(cls, hit):
        """The procedure of a `memp query --contents` hit: the exact steps, each paired with the script step
        that generalizes it when the memory has both (proceduralization); the script's steps alone when it has
        no steps (script); the exact steps alone when it has no script (trajectory)."""
        exact = [step["action"] for step in hit.get("steps") or []]
        general, avoid = script_steps(hit.get("script"))
        if not exact:
            return cls(hit["id"], [[step] for step in general], avoid)
        steps, cursor = [], 0
        for action in exact:
            spellings = [action]
            # The script keeps the order of the steps it didn't drop, so the next script step that the exact
            # action instantiates (or the one after it) is its generalization.
            for offset in range(cursor, min(cursor + 2, len(general))):
                if general[offset] != action and bind(general[offset], action, {}) != {}:
                    spellings.append(general[offset])
                    cursor = offset + 1
                    break
                if general[offset] == action:
                    cursor = offset + 1
                    break
            steps.append(spellings)
        return cls(hit["id"], steps, avoid)


def mentioned(action, observation_words):
    """How many of an action's words (its verb and stop words aside) the latest observation contains."""
    return sum(1 for word in WORD.findall(action.lower())[1:] if word not in STOP_WORDS and word in observation_words)


def state_of(infos):
    return (infos.get("look", ""), infos.get("inventory", ""))


class Explorer:
    """The weak agent: a seeded random explorer over the valid actions (see the module's description)."""

    def __init__(self, rng, task=""):
        self.rng = rng
        self.tried = {}
        self.observation_words = set(WORD.findall(task.lower()))

    def candidates(self, infos):
        valid = sorted(set(infos["validActions"]))
        return [a for a in valid if a not in EXPLORER_SKIPS] or valid

    def untried(self, actions, infos):
        tried = self.tried.get(state_of(infos), set())
        return [a for a in actions if a not in tried] or actions

    def act(self, infos):
        actions = self.untried(self.candidates(infos), infos)
        if not actions:
            return None
        if self.rng.random() < 0.5:
            scores = [mentioned(a, self.observation_words) for a in actions]
            if max(scores) > 0:
                actions = [a for a, score in zip(actions, scores) if score == max(scores)]
        return self.rng.choice(actions)

    def note(self, state, action, observation):
        self.tried.setdefault(state, set()).add(action)
        self.observation_words = set(WORD.findall(observation.lower()))


class GuidedAgent:
    """The explorer guided by retrieved procedures (see the module's description)."""

    def __init__(self, procedures, explorer, window=3):
        self.procedures = [p for p in procedures if p.steps]
        self.explorer = explorer
        self.window = window
        self.current, self.pointer, self.stalls = 0, 0, 0
        self.bindings = {}
        self.failures = Counter()
        self.pending = None
        self.used = []
        self.guided_steps = 0
        self.state = None
        self.score = 0.0
        self.seen = set()

    def _fit(self, infos):
        """The best (score, step index, spelling, action) for the next steps of the current procedure, or None."""
        procedure = self.procedures[self.current]
        tried = self.explorer.tried.get(state_of(infos), set())
        valid = [a for a in sorted(set(infos["validActions"])) if a not in tried and a not in procedure.avoid]
        best, ties = None, []
        for index in range(self.pointer, min(self.pointer + self.window, len(procedure.steps))):
            for spelling in procedure.steps[index]:
                for action in valid:
                    fit = similarity(spelling, action, self.bindings)
                    if fit < MATCH_FLOOR:
                        continue
                    # Nearer steps first; among equal fits, the action the latest observation mentions most.
                    key = (round(fit - 0.05 * (index - self.pointer), 6),
                           mentioned(action, self.explorer.observation_words))
                    if best is None or key > best:
                        best, ties = key, [(index, spelling, action)]
                    elif key == best:
                        ties.append((index, spelling, action))
        return self.explorer.rng.choice(ties) if ties else None

    def act(self, infos):
        self.state = state_of(infos)
        self.pending = None
        while self.current < len(self.procedures):
            procedure = self.procedures[self.current]
            if self.pointer >= len(procedure.steps):
                self.current, self.pointer, self.stalls, self.bindings = self.current + 1, 0, 0, {}
                continue
            fit = self._fit(infos)
            if fit:
                self.pending = fit
                return fit[2]
            self.stalls += 1
            if self.stalls > MAX_STALLS:
                self.pointer, self.stalls = self.pointer + 1, 0
            break
        return self.explorer.act(infos)

    def observe(self, action, observation, infos):
        score = float(infos.get("score", 0.0))
        progress = score > self.score or state_of(infos) != self.state or observation not in self.seen
        self.score = score
        self.seen.add(observation)
        if not progress:
            self.explorer.note(self.state, action, observation)
        else:
            self.explorer.observation_words = set(WORD.findall(observation.lower()))
        if not self.pending:
            return
        index, spelling, _ = self.pending
        memory_id = self.procedures[self.current].memory_id
        if memory_id not in self.used:
            self.used.append(memory_id)
        self.guided_steps += 1
        if progress:
            self.pointer, self.stalls = index + 1, 0
            self.bindings = bind(spelling, action, self.bindings)
        else:
            self.failures[(self.current, index)] += 1
            if self.failures[(self.current, index)] >= 2:
                self.pointer = index + 1

