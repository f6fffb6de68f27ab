"""/healthz and /readyz for load balancers, and log lines as JSON with the request's id."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from flask.logging import default_handler
from huey.storage import RedisStorage
from sqlalchemy import select

from sct_forms import jobs, logs
from sct_forms.auth import tokens
from sct_forms.config import from_environment
from sct_forms.extensions import db
from sct_forms.health import checks
from sct_forms.models import AuditEvent
from tests import health_helpers
from tests.conftest import make_app, sign_in
from tests.frozen_clock import freeze_clock
from tests.seaweedfs import ACCESS_KEY

CHECKS = {"database", "queue", "storage"}


def _check(response, name: str) -> dict:
    return response.get_json()["checks"][name]


# --- /healthz ---------------------------------------------------------------------------------


def test_healthz_answers_ok_for_each_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    for check in body["checks"].values():
        assert check["state"] == "ok" and isinstance(check["detail"], str)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_fails_when_the_instance_folder_is_missing(app, client, tmp_path):
    app.instance_path = str(tmp_path / "not-mounted")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "failing"
    assert _check(response, "storage") == {"state": "failing", "detail": "instance folder missing"}
    assert _check(response, "database")["state"] == "ok"
    assert str(tmp_path) not in response.get_data(as_text=True)


@pytest.mark.local_storage
def test_healthz_fails_when_the_storage_folder_cannot_take_a_file(app, client, tmp_path):
    # A file where the packets folder should be: nothing can be stored in it (even as root).
    (tmp_path / "instance" / "packets").write_bytes(b"")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert _check(response, "storage") == {
        "state": "failing",
        "detail": "stored files not writable",
    }


def test_healthz_fails_when_the_bucket_refuses_the_app(app, client, seaweedfs):
    app.config["STORAGE_URL"] = seaweedfs.storage_url("health")
    app.config["STORAGE_ACCESS_KEY"] = ACCESS_KEY
    app.config["STORAGE_SECRET_KEY"] = "not-the-secret"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert _check(response, "storage") == {
        "state": "failing",
        "detail": "stored files not writable",
    }
    assert seaweedfs.endpoint not in response.get_data(as_text=True)


def test_healthz_leaves_no_probe_file_behind(app, client, tmp_path):
    assert client.get("/healthz").status_code == 200
    left = [p.name for p in (tmp_path / "instance").rglob("*") if "health" in p.name]
    assert left == []


def test_healthz_fails_when_redis_does_not_answer_and_keeps_its_address_to_itself(
    client, monkeypatch
):
    # Port 1 on this machine refuses at once; the password must not reach the answer.
    storage = RedisStorage(jobs.QUEUE_NAME, url="redis://:hunter2@127.0.0.1:1/0")
    monkeypatch.setattr(jobs.queue, "storage", storage)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert _check(response, "queue") == {"state": "failing", "detail": "cannot connect"}
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "127.0.0.1" not in text


def test_healthz_fails_when_the_queue_storage_raises(client, monkeypatch):
    def broken() -> int:
        raise OSError("disk gone")

    monkeypatch.setattr(jobs.queue.storage, "queue_size", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert _check(response, "queue") == {"state": "failing", "detail": "cannot connect"}


def test_a_probe_with_an_expired_session_neither_ends_it_nor_sets_a_cookie(
    client, staff_user, monkeypatch
):
    clock = freeze_clock(monkeypatch)
    assert sign_in(client, staff_user).status_code == 303
    clock.advance(minutes=31)
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
    assert db.session.scalars(select(AuditEvent.action)).all() == ["user.signed_in"]
    # The session was past its limit all along: the next page ends it.
    response = client.get(f"/towns/{staff_user.municipality.slug}")
    assert response.status_code == 302


def test_health_routes_take_no_posts(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


# --- /readyz ----------------------------------------------------------------------------------


@pytest.fixture
def uncached(app):
    app.config["READINESS_CACHE_SECONDS"] = 0


def test_readyz_answers_200_at_the_newest_migration(client, uncached):
    with health_helpers.at_head():
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_answers_503_when_the_database_was_never_migrated(client, uncached):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert _check(response, "migrations") == {
        "state": "failing",
        "detail": "not migrated: run flask db upgrade",
    }


def test_readyz_answers_503_before_the_newest_migration(client, uncached):
    health_helpers.stamp("0123456789ab")
    try:
        response = client.get("/readyz")
    finally:
        health_helpers.unstamp()
    assert response.status_code == 503
    assert _check(response, "migrations")["detail"] == (
        "not at the newest migration: run flask db upgrade"
    )


def test_readyz_answers_503_on_a_fresh_empty_database(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path / "instance"))
    fresh = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with fresh.app_context():
        response = fresh.test_client().get("/readyz")
        db.engine.dispose()
    jobs.init_app(fresh)  # put back by the next test's app
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["state"] == "ok"


def test_readyz_remembers_its_answer_for_a_few_seconds(app, client):
    app.config["READINESS_CACHE_SECONDS"] = 60
    app.extensions.pop("health.readiness", None)
    with health_helpers.at_head():
        assert client.get("/readyz").status_code == 200
    assert client.get("/readyz").status_code == 200  # the schema was not asked again
    app.config["READINESS_CACHE_SECONDS"] = 0
    assert client.get("/readyz").status_code == 503


# --- log lines --------------------------------------------------------------------------------


@pytest.fixture
def json_logs(app):
    """The app logging JSON lines to standard error (read with capsys), as in production."""
    app.config["LOG_FORMAT"] = "json"
    logs.configure(app)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, logs.StandardErrorHandler)]:
        root.removeHandler(handler)
    app.logger.addHandler(default_handler)
    logging.getLogger("sct_forms").setLevel(logging.NOTSET)
    logging.getLogger("huey").setLevel(logging.NOTSET)


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


def _access_lines(capsys) -> list[dict]:
    return [line for line in _lines(capsys) if line["logger"] == logs.ACCESS_LOGGER]


def test_each_request_logs_one_json_access_line_with_its_id(client, json_logs, capsys):
    capsys.readouterr()
    response = client.get("/sign-in?next=/x", headers={"X-Request-ID": "lb-7f3a.91"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.91"
    (line,) = _access_lines(capsys)
    assert set(line) == {
        "time", "level", "logger", "message", "request_id", "method", "path", "status",
        "duration_ms", "remote_addr",
    }  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert line["level"] == "INFO"
    assert line["request_id"] == "lb-7f3a.91"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/sign-in", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


@pytest.mark.parametrize(
    "offered", ["", "has space", "<script>", "x" * 129, "id;rm -rf /", "é-accent"]
)
def test_an_unsafe_request_id_is_replaced_by_a_new_one(client, offered):
    response = client.get("/sign-in", headers={"X-Request-ID": offered})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_response_carries_a_request_id(client):
    ids = {client.get(path).headers["X-Request-ID"] for path in ("/sign-in", "/no-such-page")}
    ids.add(client.get("/healthz").headers["X-Request-ID"])
    assert len(ids) == 3


def test_links_with_tokens_are_logged_as_their_route(client, staff_user, json_logs, capsys):
    token = tokens.issue(staff_user, "reset", timedelta(hours=1))
    db.session.commit()
    capsys.readouterr()
    assert client.get(f"/password/reset/{token}?from=email").status_code == 200
    output = capsys.readouterr().err
    assert token not in output and "from=email" not in output
    (line,) = [json.loads(x) for x in output.splitlines() if logs.ACCESS_LOGGER in x]
    assert line["path"] == "/password/reset/<token>"


def test_an_exception_is_logged_with_its_traceback_and_not_the_raw_path(
    app, client, json_logs, capsys, monkeypatch
):
    def broken() -> dict:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(checks, "health", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    capsys.readouterr()
    response = client.get("/healthz", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-500"
    lines = _lines(capsys)
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "req-500" and error["path"] == "/healthz"
    assert "Traceback" in error["exception"] and "the disk caught fire" in error["exception"]
    (access,) = [line for line in lines if line["logger"] == logs.ACCESS_LOGGER]
    assert access["status"] == 500


def test_the_job_queue_logs_each_task_it_runs(json_logs, capsys):
    logging.getLogger("huey.consumer.Worker").info("Executing sct_forms.mail.tasks.deliver: 1")
    [line] = _lines(capsys)
    assert line["level"] == "INFO" and line["message"].startswith("Executing ")


def test_successful_probes_are_not_logged_at_info(client, json_logs, capsys):
    capsys.readouterr()
    assert client.get("/healthz").status_code == 200
    assert _access_lines(capsys) == []


def test_json_logs_are_the_default_in_production_unless_set_otherwise():
    assert from_environment({"SCT_ENV": "production"})["LOG_FORMAT"] == "json"
    assert from_environment({"SCT_ENV": "production", "LOG_FORMAT": "text"})["LOG_FORMAT"] == (
        "text"
    )
    assert "LOG_FORMAT" not in from_environment({})
    assert from_environment({"LOG_FORMAT": "JSON"})["LOG_FORMAT"] == "json"
