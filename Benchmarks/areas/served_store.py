"""A copy of a store served by `memp serve` on a loopback port, for the benchmarks that time requests to it.

    with ServedStore(memp, source, work) as served:
        seconds, answer = served.post("/v1/lookup", {"task": "cook the meal", "k": 5})

copies SOURCE to WORK (replacing WORK) and serves the copy; the server stops when the block ends, also when a
request failed."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request


class ServedStore:
    def __init__(self, memp, source, work):
        if os.path.exists(work):
            shutil.rmtree(work)
        shutil.copytree(source, work)
        self.server = subprocess.Popen([memp, "serve", "--store", work, "--port", "0"], stderr=subprocess.PIPE,
                                       text=True)
        self.url = None
        while self.url is None:
            line = self.server.stderr.readline()
            if not line:
                raise SystemExit("server exited")
            m = re.match(r"Listening on (\S+)", line)
            if m:
                self.url = m.group(1)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.server.terminate()
        self.server.wait()

    def post(self, path, body):
        """Sends `body` as JSON; returns the seconds until the whole answer was read, and the decoded answer."""
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as answer:
            data = json.load(answer)
        return time.perf_counter() - start, data

    def peak_resident_mib(self):
        """The server's peak resident memory so far (VmHWM), in MiB."""
        with open(f"/proc/{self.server.pid}/status") as status:
            return int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1)) // 1024
