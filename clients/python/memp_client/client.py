"""The client: one method per route of the memory service's HTTP API (docs/openapi.yaml)."""
from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence


class MempError(Exception):
    """An error answer of the server: its HTTP status, the error code and the message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class MempWarning(UserWarning):
    """A warning the server sent with a successful answer (its ``warnings``): the request succeeded, but whoever runs
    the server should know. ``index_cache_unsaved``: a write committed, but the store's index cache files could not
    be saved (a full disk, say); lookups still see the write."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Step:
    """One action of a procedure and what the agent saw after it."""

    action: str
    observation: str = ""


@dataclass(frozen=True)
class Outcome:
    """How a task ended."""

    success: Optional[bool] = None
    reward: Optional[float] = None


@dataclass(frozen=True)
class Hit:
    """A procedure found for a task."""

    id: str
    score: float
    task: str
    explanation: str
    hit_count: int
    success_count: int
    status: str
    sources: List[str]
    script: Optional[str] = None
    steps: Optional[List[Step]] = None
    outcome: Optional[Outcome] = None

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> "Hit":
        outcome = value.get("outcome")
        steps = value.get("steps")
        return Hit(
            id=value["id"],
            score=float(value["score"]),
            task=value["task"],
            explanation=value.get("explanation", ""),
            hit_count=int(value["hitCount"]),
            success_count=int(value["successCount"]),
            status=value.get("status", "active"),
            sources=list(value.get("sources", [])),
            script=value.get("script"),
            steps=[Step(s["action"], s.get("observation", "")) for s in steps] if steps is not None else None,
            outcome=Outcome(outcome.get("success"), outcome.get("reward")) if outcome else None,
        )

    def procedure(self) -> str:
        """The procedure as text: the script, else the numbered actions."""
        if self.script:
            return self.script
        return "\n".join(f"{n}. {step.action}" for n, step in enumerate(self.steps or [], 1))


@dataclass(frozen=True)
class FeedbackChange:
    """A memory's counters after feedback."""

    memory_id: str
    hit_count: int
    success_count: int
    deprecated: bool


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    lines_read: int
    imported: int
    replaced: int
    skipped_duplicates: int
    invalid: int
    errors: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class UpdateReport:
    """What an update did."""

    tasks: int
    added: List[str]
    merged: Dict[str, str]
    rewritten: List[str]
    deprecated: List[str]
    skipped_failures: int
    already_applied: int = 0


class MempClient:
    """A client of one `memp serve`, over one kept-alive HTTP connection per thread.

    A successful answer that carries warnings issues each as a :class:`MempWarning` (Python's ``warnings`` module).

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8765``.
        store: The store to use when the server serves several (``--store-root``); ``None`` for a single store.
        token: The server's bearer token, when it was started with ``--token-file``.
        timeout: Seconds to wait for an answer.
    """

    def __init__(self, base_url: str, store: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 60.0) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"base_url must be http://HOST:PORT (got {base_url!r})")
        self._host = parsed.hostname
        self._port = parsed.port or 80
        self._prefix = "/v1" if store is None else "/v1/stores/" + urllib.parse.quote(store, safe="")
        self._token = token
        self._timeout = timeout
        self._local = threading.local()

    # -- Memory operations -------------------------------------------------------------------------------------

    def lookup(self, task: str, k: int = 5, mode: Optional[str] = None, sources: Optional[Sequence[str]] = None,
               labels: Optional[Mapping[str, str]] = None, include_deprecated: bool = False,
               min_similarity: Optional[float] = None, seed: Optional[int] = None) -> List[Hit]:
        """The procedures that best fit ``task``, best first (``seed``: the ``random`` mode's seed)."""
        body = self._lookup_body(k, mode, sources, labels, include_deprecated, min_similarity, seed)
        body["task"] = task
        answer = self._request("POST", self._prefix + "/lookup", body)
        return [Hit.from_json(hit) for hit in answer["hits"]]

    def lookup_many(self, tasks: Sequence[str], k: int = 5, mode: Optional[str] = None,
                    sources: Optional[Sequence[str]] = None, labels: Optional[Mapping[str, str]] = None,
                    include_deprecated: bool = False, min_similarity: Optional[float] = None,
                    seed: Optional[int] = None) -> List[List[Hit]]:
        """The procedures for each task, in the tasks' order, in one request (at most 256 tasks)."""
        body = self._lookup_body(k, mode, sources, labels, include_deprecated, min_similarity, seed)
        body["tasks"] = list(tasks)
        answer = self._request("POST", self._prefix + "/lookup/batch", body)
        return [[Hit.from_json(hit) for hit in hits] for hits in answer["results"]]

    def record_outcome(self, memories: Iterable[str], success: bool,
                       trajectory: Optional[str] = None) -> List[FeedbackChange]:
        """Reports whether a task that used ``memories`` succeeded; returns their counters after it.

        ``trajectory`` is the ID of the task's attempt, stored now or later: once it is stored, the report is part of
        the record of use that ``memp tune`` learns from."""
        body: Dict[str, Any] = {"memories": list(memories), "success": success}
        if trajectory is not None:
            body["trajectory"] = trajectory
        answer = self._request("POST", self._prefix + "/feedback", body)
        return [FeedbackChange(c["memoryID"], c["hitCount"], c["successCount"], c["deprecated"])
                for c in answer["memories"]]

    def add_trajectory(self, id: str, task: str, steps: Sequence[Step], success: Optional[bool] = None,
                       source: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
                       duplicates: str = "refuse") -> ImportReport:
        """Stores one attempt at a task; it becomes a procedure that lookups can return."""
        return self.add_trajectories([self.trajectory(id, task, steps, success, source, labels)], duplicates)

    def add_trajectories(self, trajectories: Sequence[Mapping[str, Any]], duplicates: str = "refuse",
                         skip_invalid: bool = False, build: Optional[str] = None,
                         source: Optional[str] = None) -> ImportReport:
        """Imports trajectories (Memp's JSON format) in one request, as ``memp import`` does a file.

        ``build`` is how they become memories (trajectory, script, proceduralization: the server's default);
        ``source`` the source of records that name none.
        """
        lines = "\n".join(json.dumps(t, separators=(",", ":")) for t in trajectories) + "\n"
        parameters = {"duplicates": duplicates, "skipInvalid": "true" if skip_invalid else "false"}
        if build is not None:
            parameters["build"] = build
        if source is not None:
            parameters["source"] = source
        query = urllib.parse.urlencode(parameters)
        answer = self._request("POST", f"{self._prefix}/trajectories?{query}", lines.encode(),
                               content_type="application/x-ndjson")
        report = answer["report"]
        return ImportReport(report["linesRead"], report["imported"], report["replaced"],
                            report["skippedDuplicates"], report["invalid"], list(report.get("errors", [])))

    def update(self, policy: str, finished: Sequence[Mapping[str, Any]], build: Optional[str] = None,
               source: Optional[str] = None, min_hits: Optional[int] = None,
               min_success_rate: Optional[float] = None, resume: bool = False) -> UpdateReport:
        """Runs an update policy (vanilla, validation, adjustment) over finished tasks.

        Each finished task is a trajectory with its outcome and ``usedMemories``: the IDs of the procedures it
        used (:meth:`trajectory` builds one; give it ``success``, as a task without an outcome is refused). A memory used at least ``min_hits`` times (default 3) whose success rate
        is below ``min_success_rate`` (default 0.5) is deprecated, as with ``memp update``. With ``resume``, tasks
        the store has applied already are left out (``already_applied`` counts them), so that an update whose
        answer was lost can be sent again as it was.
        """
        body: Dict[str, Any] = {"policy": policy, "tasks": list(finished)}
        if resume:
            body["resume"] = True
        for key, value in (("build", build), ("source", source), ("minHits", min_hits),
                           ("minSuccessRate", min_success_rate)):
            if value is not None:
                body[key] = value
        report = self._request("POST", self._prefix + "/update", body)["report"]
        return UpdateReport(report["tasks"], list(report["added"]), dict(report["merged"]),
                            list(report["rewritten"]), list(report["deprecated"]), report["skippedFailures"],
                            report.get("alreadyApplied", 0))

    def show(self, memory_id: str) -> Dict[str, Any]:
        """One memory in full (``{"memory": {...}, "outcome": {...}}``)."""
        return self._request("GET", f"{self._prefix}/memories/{urllib.parse.quote(memory_id, safe='')}")

    def delete(self, memory_id: str) -> Dict[str, Any]:
        """Deletes a memory and its trajectory."""
        return self._request("DELETE", f"{self._prefix}/memories/{urllib.parse.quote(memory_id, safe='')}")

    def stats(self) -> Dict[str, Any]:
        """Counts of what the store holds."""
        return self._request("GET", self._prefix + "/stats")["statistics"]

    def healthy(self) -> bool:
        """Whether the server answers ``/healthz``."""
        try:
            return self._request("GET", "/healthz")["status"] == "ok"
        except (OSError, MempError):
            return False

    @staticmethod
    def trajectory(id: str, task: str, steps: Sequence[Step], success: Optional[bool] = None,
                   source: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
                   used_memories: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """A trajectory in Memp's JSON format."""
        value: Dict[str, Any] = {"id": id, "task": task,
                                 "steps": [{"action": s.action, "observation": s.observation} for s in steps]}
        if success is not None:
            value["outcome"] = {"success": success}
        if source is not None:
            value["source"] = source
        if labels:
            value["labels"] = dict(labels)
        if used_memories is not None:
            value["usedMemories"] = list(used_memories)
        return value

    # -- HTTP ------------------------------------------------------------------------------------------------------

    @staticmethod
    def _lookup_body(k: int, mode: Optional[str], sources: Optional[Sequence[str]],
                     labels: Optional[Mapping[str, str]], include_deprecated: bool, min_similarity: Optional[float],
                     seed: Optional[int]) -> Dict[str, Any]:
        body: Dict[str, Any] = {"k": k}
        if mode is not None:
            body["mode"] = mode
        if seed is not None:
            body["seed"] = seed
        filters: Dict[str, Any] = {}
        if sources is not None:
            filters["sources"] = list(sources)
        if labels:
            filters["labels"] = dict(labels)
        if include_deprecated:
            filters["includeDeprecated"] = True
        if min_similarity is not None:
            filters["minSimilarity"] = min_similarity
        if filters:
            body["filters"] = filters
        return body

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def _request(self, method: str, path: str, body: Any = None,
                 content_type: str = "application/json") -> Dict[str, Any]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        if self._token:
            headers["Authorization"] = "Bearer " + self._token
        for attempt in range(2):
            connection = self._connection()
            try:
                connection.request(method, path, body=data, headers=headers)
            except (ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed meanwhile; the request never left: reconnect once.
                self.close()
                if attempt == 1:
                    raise
                continue
            try:
                response = connection.getresponse()
                payload = response.read()
                break
            except http.client.RemoteDisconnected:
                self.close()
                # Only a read is safe to send again: a write may have been committed before the connection dropped.
                if attempt == 1 or method != "GET":
                    raise
        value = json.loads(payload) if payload else {}
        if response.status >= 400:
            error = value.get("error", {}) if isinstance(value, dict) else {}
            raise MempError(response.status, error.get("code", "unknown"), error.get("message", payload.decode()))
        for notice in value.get("warnings", []) if isinstance(value, dict) else []:
            warnings.warn(MempWarning(notice.get("code", "unknown"), notice.get("message", "")), stacklevel=3)
        return value

    def close(self) -> None:
        """Closes this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
