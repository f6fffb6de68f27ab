"""A real worker: `flask worker` in its own process runs what the web side queued."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from sct_forms import jobs
from sct_forms.extensions import db
from sct_forms.models import OutboxMessage
from tests import queue_helpers

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60


class Collector:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield collector, controller.port
    controller.stop()


@pytest.fixture
def start_worker(app, tmp_path):
    """``start_worker(**settings)`` runs `flask worker` on the test app's database and instance."""
    started: list[subprocess.Popen] = []
    log = tmp_path / "worker.log"

    def start(**settings: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "SCT_INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret",
            "RECOVER_FILES_ON_START": "false",
            **settings,
        }
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "sct_forms", "worker", "--poll", "0.2"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # finish what runs, then stop
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
    queue_helpers.release(app)


def log_of(tmp_path: Path) -> str:
    path = tmp_path / "worker.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_a_worker_process_sends_the_mail_a_committed_change_queued(
    app, client, staff_user, smtp, start_worker, tmp_path
):
    collector, port = smtp
    settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "MAIL_DELIVERY": "queue",
        "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
    }
    # The web side, as in production: a real queue, not tasks run where they are queued.
    app.config.update(settings, MAIL_PORT=port, QUEUE_IMMEDIATE=False)
    jobs.init_app(app)

    response = client.post("/password/forgot", data={"email": staff_user.email})
    assert response.status_code == 303
    assert jobs.queue.pending_count() == 1  # queued once the reset and its email committed
    [message_id] = db.session.scalars(select(OutboxMessage.id)).all()
    assert collector.messages == []

    worker = start_worker(**settings)
    deadline = time.monotonic() + WAIT_SECONDS
    sent_at = None
    while time.monotonic() < deadline and worker.poll() is None:
        db.session.expire_all()
        sent_at = db.session.get(OutboxMessage, message_id).sent_at
        if sent_at is not None and collector.messages:
            break
        time.sleep(0.2)

    assert worker.poll() is None, log_of(tmp_path)
    assert sent_at is not None, log_of(tmp_path)
    [received] = collector.messages
    assert received["To"].addresses[0].addr_spec == staff_user.email
    assert "/password/reset/" in received.get_body(("plain",)).get_content()
    assert jobs.queue.pending_count() == 0

    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=20) == 0, log_of(tmp_path)


def test_the_worker_refuses_to_start_when_tasks_run_where_they_are_queued(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1
    assert "QUEUE_IMMEDIATE is on" in result.output
