"""Load clients: browsers over HTTP (cookies, CSRF tokens), run together for a fixed time.

Each client is a thread with its own connection (``http.client``; kept open where the server
keeps it, reopened where it closes it, as gunicorn's sync workers do after each answer). Only
2xx answers count as done; a request counts in the window it ended in.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

from bench.instance import BenchError
from bench.pages import csrf_token
from bench.report import percentile

USER_AGENT = "sct-forms-bench/1"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class HttpSession:
    """One browser: its connection to the server and its cookies."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        fields: Sequence[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"User-Agent": USER_AGENT, "Accept": "text/html", **(headers or {})}
        body = None
        if fields is not None:
            body = urlencode(list(fields)).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request(method, path, body, sent)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next request opens a new connection
            raise
        self._keep_cookies(response.msg.get_all("Set-Cookie") or [])
        return Reply(response.status, data)

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            expired = "max-age=0" in attributes.lower().replace(" ", "")
            if not value or expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def sign_in(self, email: str, password: str) -> None:
        page = self.request("GET", "/sign-in")
        token = csrf_token(page.text)
        if page.status != 200 or token is None:
            raise BenchError(f"the sign-in page answered {page.status} without a form token")
        fields = [("email", email), ("password", password), ("csrf_token", token)]
        reply = self.request("POST", "/sign-in", fields)
        if reply.status != 303:
            raise BenchError(f"signing in as {email} answered {reply.status}")

    def close(self) -> None:
        self.connection.close()


class Client(Protocol):
    def act(self) -> int:
        """Make one request; its HTTP status."""


@dataclass
class LoadResult:
    """What the clients got done in the measured window."""

    seconds: float
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(count for outcome, count in self.outcomes.items() if not _is_success(outcome))

    @property
    def per_second(self) -> float:
        return self.done / self.seconds

    def latency_ms(self, fraction: float) -> float | None:
        return percentile(self.latencies_ms, fraction)

    def outcome_words(self) -> str:
        return ", ".join(f"{count} × {outcome}" for outcome, count in sorted(self.outcomes.items()))

    def failure_words(self) -> str:
        failures = {o: n for o, n in self.outcomes.items() if not _is_success(o)}
        return ", ".join(f"{n} × {o}" for o, n in sorted(failures.items())) or "none"

    def add(self, other: LoadResult) -> None:
        """Count another window of the same clients in with this one."""
        self.seconds += other.seconds
        self.latencies_ms.extend(other.latencies_ms)
        self.outcomes.update(other.outcomes)


def _is_success(outcome: str) -> bool:
    return outcome.isdigit() and 200 <= int(outcome) < 300


def alternate(
    loads: dict[str, Sequence[Client]], rounds: int, seconds: float, warmup_seconds: float
) -> dict[str, LoadResult]:
    """Each load in turn, ``rounds`` times: every one sees the machine's busy and quiet moments.

    On a shared machine other work comes and goes; figures compared with each other (a ratio)
    are fairer measured in alternation than one after the other.
    """
    results: dict[str, LoadResult] = {}
    for _ in range(rounds):
        for name, clients in loads.items():
            result = run_load(clients, seconds, warmup_seconds)
            if name in results:
                results[name].add(result)
            else:
                results[name] = result
    return results


def run_load(clients: Sequence[Client], seconds: float, warmup_seconds: float) -> LoadResult:
    """Run every client in its own thread: a warm-up, then ``seconds`` that are measured."""
    result = LoadResult(seconds=seconds, clients=len(clients))
    lock = threading.Lock()
    ready = threading.Barrier(len(clients) + 1)
    window: dict[str, float] = {}

    def work(client: Client) -> None:
        ready.wait()
        start, end = window["start"], window["end"]
        latencies: list[float] = []
        outcomes: Counter = Counter()
        while True:
            began = time.perf_counter()
            if began >= end:
                break
            try:
                outcome = str(client.act())
            except Exception as error:  # noqa: BLE001 - a failed request is counted, not raised
                outcome = f"error ({type(error).__name__})"
            ended = time.perf_counter()
            if start <= ended <= end:
                outcomes[outcome] += 1
                if _is_success(outcome):
                    latencies.append((ended - began) * 1000)
        with lock:
            result.latencies_ms.extend(latencies)
            result.outcomes.update(outcomes)

    threads = [threading.Thread(target=work, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    window["start"] = now + warmup_seconds
    window["end"] = window["start"] + seconds
    ready.wait()
    for thread in threads:
        thread.join(timeout=seconds + warmup_seconds + TIMEOUT_SECONDS * 2)
    return result
