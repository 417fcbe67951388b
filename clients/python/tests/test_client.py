"""memp-client against a live `memp serve` (the built memp, on 127.0.0.1 with a free port).

    MEMP=.build/debug/memp python3 -m unittest discover -s clients/python/tests
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from memp_client import MempClient, MempError, MempWarning, Step  # noqa: E402

REPOSITORY = pathlib.Path(__file__).resolve().parents[3]
MEMP = os.environ.get("MEMP", str(REPOSITORY / ".build" / "debug" / "memp"))


class LiveServer:
    """`memp serve` on a fresh hashing-embedder store, for one test class."""

    def __init__(self, extra=()):
        self.directory = tempfile.mkdtemp()
        self.store = os.path.join(self.directory, "store")
        subprocess.run([MEMP, "init", "--store", self.store, "--embedder", "hashing"], check=True,
                       capture_output=True)
        self.process = subprocess.Popen([MEMP, "serve", "--store", self.store, "--port", "0", *extra],
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        line = self.process.stderr.readline()
        match = re.match(r"Listening on (http://\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"memp serve did not start: {line}")
        self.url = match.group(1)
        self.drain = threading.Thread(target=self.process.stderr.read, daemon=True)
        self.drain.start()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        self.drain.join(timeout=60)
        self.process.stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        return status


@unittest.skipUnless(os.access(MEMP, os.X_OK), f"needs a built memp at {MEMP}")
class ClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LiveServer()
        cls.memp = MempClient(cls.server.url)

    @classmethod
    def tearDownClass(cls):
        cls.memp.close()
        assert cls.server.stop() == 0

    def test_a_write_whose_index_cache_was_not_saved_warns(self):
        index = pathlib.Path(self.server.store) / "index"
        shutil.rmtree(index, ignore_errors=True)
        index.write_text("not a folder")  # the server can't save its index cache there
        try:
            with self.assertWarns(MempWarning) as caught:
                report = self.memp.add_trajectory("cache-1", "wash the dishes", [Step("fill the sink")], success=True)
        finally:
            index.unlink()
        self.assertEqual(report.imported, 1)
        self.assertEqual(caught.warning.code, "index_cache_unsaved")
        self.assertIn(str(index), caught.warning.message)
        self.assertEqual(self.memp.lookup("wash the dishes", k=1, mode="bm25")[0].id, "cache-1")
        with warnings.catch_warnings():
            warnings.simplefilter("error", MempWarning)  # a warning now would fail the test
            report = self.memp.add_trajectory("cache-2", "dry the dishes", [Step("take a towel")], success=True)
        self.assertEqual(report.imported, 1)

    def test_add_lookup_record_update_show(self):
        steps = [Step("take the kettle"), Step("fill it", "the kettle is full"), Step("boil the water")]
        report = self.memp.add_trajectory("tea-1", "make a cup of green tea", steps, success=True)
        self.assertEqual((report.imported, report.invalid), (1, 0))
        hits = self.memp.lookup("make green tea", k=3, mode="bm25")
        self.assertEqual([hit.id for hit in hits], ["tea-1"])
        self.assertEqual(hits[0].outcome.success, True)
        self.assertEqual(hits[0].steps[1], Step("fill it", "the kettle is full"))
        self.assertIn("1. take the kettle", hits[0].procedure())
        changes = self.memp.record_outcome(["tea-1"], success=True, trajectory="tea-run-1")
        self.assertEqual([(c.memory_id, c.hit_count, c.success_count) for c in changes], [("tea-1", 1, 1)])
        finished = MempClient.trajectory("tea-2", "make black tea", steps, success=False, used_memories=["tea-1"])
        update = self.memp.update("validation", [finished])
        self.assertEqual((update.tasks, update.added, update.skipped_failures), (1, [], 1))
        # Sent again with resume, as after a lost answer: nothing is applied twice.
        repeated = self.memp.update("validation", [finished], resume=True)
        self.assertEqual((repeated.tasks, repeated.already_applied), (0, 1))
        memory = self.memp.show("tea-1")["memory"]
        self.assertEqual((memory["hitCount"], memory["successCount"]), (2, 1))
        again = self.memp.lookup("make green tea", k=1, mode="bm25")[0]
        self.assertEqual((again.id, again.hit_count, again.success_count), ("tea-1", 2, 1))
        self.assertEqual(self.memp.lookup_many(["make green tea", "fly a kite"], k=1, mode="bm25")[0][0].id, "tea-1")

    def test_errors_carry_status_and_code(self):
        with self.assertRaises(MempError) as missing:
            self.memp.show("no-such-memory")
        self.assertEqual((missing.exception.status, missing.exception.code), (404, "unknown_memory"))
        with self.assertRaises(MempError) as bad:
            self.memp.lookup("tea", k=0)
        self.assertEqual((bad.exception.status, bad.exception.code), (400, "invalid_body"))
        self.assertIn("k", bad.exception.message)
        report = self.memp.add_trajectories([{"id": "x", "task": "t", "steps": []}], skip_invalid=True)
        self.assertEqual((report.imported, report.invalid, len(report.errors)), (0, 1, 1))

    def test_threads_share_one_client(self):
        self.memp.add_trajectory("shared-1", "sweep the floor", [Step("take the broom"), Step("sweep")],
                                 success=True, duplicates="replace")
        before = self.memp.show("shared-1")["memory"]["hitCount"]

        def report():
            for _ in range(10):
                self.memp.record_outcome(["shared-1"], success=True)
            self.memp.close()  # this thread's connection

        threads = [threading.Thread(target=report) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(self.memp.show("shared-1")["memory"]["hitCount"], before + 40)

    def test_lookup_seed_and_update_thresholds(self):
        for index in range(6):
            self.memp.add_trajectory(f"door-{index}", f"open door number {index}", [Step("open the door")],
                                     success=True, duplicates="replace")
        first = [hit.id for hit in self.memp.lookup("open a door", k=3, mode="random", seed=11)]
        self.assertEqual([hit.id for hit in self.memp.lookup("open a door", k=3, mode="random", seed=11)], first)
        batch = self.memp.lookup_many(["open a door", "open a door"], k=3, mode="random", seed=11)
        self.assertEqual([[hit.id for hit in hits] for hits in batch], [first, first])
        # One success in three uses: kept at a 0.2 threshold.
        finished = [MempClient.trajectory(f"door-run-{n}", f"open door {n}", [Step("push")], success=n == 0,
                                          used_memories=["door-0"]) for n in range(3)]
        report = self.memp.update("validation", finished, min_hits=3, min_success_rate=0.2, source="doors")
        self.assertEqual(report.deprecated, [])
        with self.assertRaises(MempError) as bad:
            self.memp.update("validation", finished, min_success_rate=2.0)
        self.assertEqual((bad.exception.status, bad.exception.code), (400, "invalid_body"))
        self.assertIn("minSuccessRate", bad.exception.message)


@unittest.skipUnless(os.access(MEMP, os.X_OK), f"needs a built memp at {MEMP}")
class AgentLoopTests(unittest.TestCase):
    """examples/agent_loop.py against its own live server."""

    def test_agent_loop_stores_its_successes(self):
        server = LiveServer()
        try:
            example = pathlib.Path(__file__).resolve().parent.parent / "examples" / "agent_loop.py"
            done = subprocess.run([sys.executable, str(example), "--url", server.url, "--episodes", "20",
                                   "--update-every", "5", "--seed", "7"], capture_output=True, text=True, timeout=600)
            self.assertEqual(done.returncode, 0, done.stderr)
            last = done.stdout.strip().splitlines()[-1]
            match = re.fullmatch(r"(\d+)/20 episodes succeeded; the store holds (\d+) memories", last)
            self.assertIsNotNone(match, last)
            successes, memories = int(match.group(1)), int(match.group(2))
            self.assertGreater(successes, 0)
            self.assertGreaterEqual(memories, 1)
            # Validation stored every successful episode and no failed one.
            client = MempClient(server.url)
            self.assertEqual(client.stats()["trajectories"], successes)
            client.close()
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
