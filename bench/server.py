"""gunicorn servers for the load figures: the project's settings, two sync workers, a free port.

Both the app and the bare route are served by ``gunicorn -c gunicorn.conf.py`` with
``WEB_CONCURRENCY=2``, so they differ only in the WSGI app. Workers are not recycled during a
run (``--max-requests 0``): the settings file replaces a worker after about 1,000 requests,
which at these rates would restart workers every few seconds and measure their start-up.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.instance import BenchError
from sct_forms.config import PROJECT_ROOT

WORKERS = 2
GUNICORN_SETTINGS = PROJECT_ROOT / "gunicorn.conf.py"
APP = "sct_forms:create_app()"
BARE_APP = "bench.bare:app"
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``with Server(app, env, log_path) as server``: serving on ``server.port`` until the end."""

    host = "127.0.0.1"

    def __init__(self, app: str, env: dict[str, str], log_path: Path, ready_path: str) -> None:
        self.app = app
        self.env = env
        self.log_path = log_path
        self.ready_path = ready_path
        self.port = 0
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.port = free_port()
        env = {**self.env, "BIND": f"{self.host}:{self.port}", "WEB_CONCURRENCY": str(WORKERS)}
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_SETTINGS),
            "--max-requests",
            "0",
            self.app,
        ]
        with self.log_path.open("ab") as log:
            # A session of its own: the server and its workers can be stopped as one group,
            # and a Ctrl+C in the terminal reaches the benchmark, which stops them itself.
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn ({self.app}) stopped at start:\n{self.log_tail()}")
            connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                connection.request("GET", self.ready_path)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        raise BenchError(f"gunicorn ({self.app}) did not answer in time:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (its workers finish their request), then its group if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            # The group is the server's own session: its id is the server's pid.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
