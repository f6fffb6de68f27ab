"""A real gunicorn server is SIGKILLed while staff upload and delete photos; after a restart
check-files finds nothing.

Workers are killed one at a time mid-traffic (gunicorn starts a new one, whose recovery runs
while the other worker is still writing: it must not touch that worker's files), then the whole
server is killed and started again.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from sct_forms.extensions import db
from sct_forms.models import AuditEvent
from tests.conftest import PASSWORD
from tests.evidence import samples
from tests.helpers import csrf_token_from
from tests.maintenance.helpers import check_files
from tests.toolkit_helpers import make_toolkit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
CLIENTS = 3
WORKER_KILLS = 4  # one worker killed each time UPLOADS_BETWEEN_KILLS more uploads are done
UPLOADS_BETWEEN_KILLS = 3
TRAFFIC_SECONDS = 8  # the most the kills may wait for uploads
DELETE_LINK = re.compile(r'action="/evidence/(\d+)/delete"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with two preloaded workers (a killed worker is replaced in milliseconds)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(GUNICORN),
            "--preload",
            "--workers=2",
            "--threads=2",
            f"--bind=127.0.0.1:{self.port}",
            "--graceful-timeout=2",
            "sct_forms:create_app()",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server stopped while starting"
            try:
                with urllib.request.urlopen(self.url + "/sign-in", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not start in time")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill_one_worker(self) -> None:
        workers = self.workers()
        if workers:
            os.kill(secrets.choice(workers), signal.SIGKILL)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)  # gunicorn: quick shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Staff:
    """One person in a browser: a cookie jar, signed in, uploading and deleting in a loop."""

    def __init__(self, base_url: str, step_path: str, cookies: http.cookiejar.CookieJar) -> None:
        self.base_url = base_url
        self.step_path = step_path
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
        self.outcomes: Counter[str] = Counter()
        self.photo = samples.jpeg_bytes((640, 480))

    def request(self, path: str, data: bytes | None = None, content_type: str = "") -> str:
        request = urllib.request.Request(self.base_url + path, data=data)
        if content_type:
            request.add_header("Content-Type", content_type)
        with self.opener.open(request, timeout=10) as response:
            return response.read().decode("utf-8")

    def sign_in(self, email: str) -> None:
        """Sign in (once: the other tabs share the cookie jar, as tabs of one browser do)."""
        token = csrf_token_from(self.request("/sign-in"))
        form = f"email={email}&password={PASSWORD.replace(' ', '+')}&csrf_token={token}"
        self.request("/sign-in", form.encode(), "application/x-www-form-urlencoded")

    def upload(self, token: str) -> str:
        fields = {
            "csrf_token": token,
            "title": "Sign-in table",
            "alt_text": "People signing in at a table",
            "people_consented": "y",
        }
        body, content_type = multipart(fields, "table.jpg", self.photo)
        return self.request(self.step_path + "/evidence", body, content_type)

    def delete(self, token: str, evidence_id: str) -> str:
        body = f"csrf_token={token}".encode()
        path = f"/evidence/{evidence_id}/delete"
        return self.request(path, body, "application/x-www-form-urlencoded")

    def work(self, stop: threading.Event) -> None:
        """Upload, and delete a file when there are two or more, until told to stop.

        Errors (the server was killed) are counted, and the work goes on.
        """
        page = ""
        while not stop.is_set():
            try:
                page = self.upload(csrf_token_from(page or self.request(self.step_path)))
                self.outcomes["upload"] += 1
                ids = DELETE_LINK.findall(page)
                if len(ids) > 1:
                    page = self.delete(csrf_token_from(page), secrets.choice(ids))
                    self.outcomes["delete"] += 1
            except (OSError, http.client.HTTPException, AssertionError) as error:
                self.outcomes[type(error).__name__] += 1
                page = ""
                time.sleep(0.05)


def server_environment(app) -> dict[str, str]:  # noqa: ANN001
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "DATABASE_URL", "MAIL_SERVER", "TEST_DATABASE_URL")
    }
    env.update(
        SCT_INSTANCE_PATH=app.instance_path,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY="crash-test-secret",
        MAIL_DELIVERY="off",
    )
    # The test's own storage (its instance folder, or its prefix of the test bucket).
    for key in ("STORAGE_URL", "STORAGE_ACCESS_KEY", "STORAGE_SECRET_KEY"):
        if app.config.get(key):
            env[key] = app.config[key]
    return env


def wait_for_uploads(staff: list[Staff], count: int, deadline: float) -> None:
    while sum(s.outcomes["upload"] for s in staff) < count and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


def test_check_files_finds_nothing_after_the_server_is_killed_during_uploads_and_deletes(
    app, staff_user, toolkit
):
    started = time.monotonic()
    env = server_environment(app)
    step_path = f"/toolkits/{toolkit.id}/steps/outreach"
    email = staff_user.email
    db.session.commit()
    db.session.close()  # SQLite: no read transaction of ours may hold back the server's writes

    server = Server(env)
    stop = threading.Event()
    cookies = http.cookiejar.CookieJar()
    staff = [Staff(server.url, step_path, cookies) for _ in range(CLIENTS)]
    threads = [threading.Thread(target=s.work, args=(stop,), daemon=True) for s in staff]
    try:
        server.wait_until_ready()
        staff[0].sign_in(email)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + TRAFFIC_SECONDS
        for kill in range(WORKER_KILLS + 1):
            wait_for_uploads(staff, (kill + 1) * UPLOADS_BETWEEN_KILLS, deadline)
            if kill < WORKER_KILLS:
                server.kill_one_worker()
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    finally:
        stop.set()
        server.stop()

    left_by_the_kills = check_files(app)
    restarted = Server(env)
    try:
        restarted.wait_until_ready()  # its first request runs the recovery, then answers
    finally:
        restarted.kill()

    outcomes = sum((s.outcomes for s in staff), Counter())
    print(f"traffic: {dict(outcomes)}; left by the kills:\n{left_by_the_kills.output}")
    events = db.session.query(AuditEvent).all()
    actions = Counter(event.action for event in events)
    assert actions["evidence.added"] >= 3 and actions["evidence.deleted"] >= 1, actions
    if left_by_the_kills.exit_code:
        assert any(e.action == "files.repaired" and e.details["by"] == "start" for e in events)
    check = check_files(app)
    assert check.exit_code == 0, check.output
    assert time.monotonic() - started < 60  # about 10 s on an idle machine
