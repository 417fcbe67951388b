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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from memp_client import MempClient, MempError, Step  # noqa: E402

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
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
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

    def test_add_lookup_record_update_show(self):
        steps = [Step("take the kettle"), Step("fill it", "the kettle is full"), Step("boil the water")]
        report = self.memp.add_trajectory("tea-1", "make a cup of green tea", steps, success=True)
        self.assertEqual((report.imported, report.invalid), (1, 0))
        hits = self.memp.lookup("make green tea", k=3, mode="bm25")
        self.assertEqual([hit.id for hit in hits], ["tea-1"])
        self.assertEqual(hits[0].outcome.success, True)
        self.assertEqual(hits[0].steps[1], Step("fill it", "the kettle is full"))
        self.assertIn("1. take the kettle", hits[0].procedure())
        changes = self.memp.record_outcome(["tea-1"], success=True)
        self.assertEqual([(c.memory_id, c.hit_count, c.success_count) for c in changes], [("tea-1", 1, 1)])
        finished = MempClient.trajectory("tea-2", "make black tea", steps, success=False, used_memories=["tea-1"])
        update = self.memp.update("validation", [finished])
        self.assertEqual((update.tasks, update.added, update.skipped_failures), (1, [], 1))
        memory = self.memp.show("tea-1")["memory"]
        self.assertEqual((memory["hitCount"], memory["successCount"]), (2, 1))
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

        threads = [threading.Thread(target=report) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(self.memp.show("shared-1")["memory"]["hitCount"], before + 40)


if __name__ == "__main__":
    unittest.main()
