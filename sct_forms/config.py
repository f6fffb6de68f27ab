"""Configuration: defaults, then instance/config.py, then environment, then the caller's mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INSECURE_DEFAULT_SECRET = "insecure-default-change-me"  # noqa: S105 - refused outside debug/test

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DefaultConfig:
    SECRET_KEY = INSECURE_DEFAULT_SECRET
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from the instance path when unset
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    # A session ends after this long without a request, and this long after signing in at most;
    # PERMANENT_SESSION_LIFETIME and WTF_CSRF_TIME_LIMIT follow SESSION_MAX_HOURS.
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed.
    TRUSTED_PROXY_COUNT = 0
    WTF_CSRF_SSL_STRICT = False
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "America/New_York"
    LANGUAGES: tuple[str, ...] | None = None  # None: English plus every compiled catalog
    # Sign-in throttling: a growing delay, never a lockout. Failures in the window count (for an
    # account and address, only those since its last sign-in from there); past the free number
    # each attempt waits 1 s, 2 s, 4 s ... after the last failure, up to the longest delay.
    SIGNIN_WINDOW_HOURS = 24
    SIGNIN_FREE_FAILURES = 3  # one account from one address
    SIGNIN_ADDRESS_FREE_FAILURES = 30  # one address, all accounts
    SIGNIN_MAX_DELAY_SECONDS = 15 * 60
    # One account from all addresses (distributed guessing): past this, a short fixed wait,
    # which addresses the account signed in from before do not have.
    SIGNIN_ACCOUNT_FREE_FAILURES = 100
    SIGNIN_ACCOUNT_DELAY_SECONDS = 10
    SIGNIN_FAILURE_RETENTION_DAYS = 90
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "sct-forms@localhost"
    # "queue": committing mail queues its delivery for the worker, which also sweeps the
    # outbox every minute (retries); "off": only `flask deliver-outbox` (cron, by hand) sends.
    MAIL_DELIVERY = "queue"
    MAIL_TIMEOUT = 10
    MAIL_MAX_ATTEMPTS = 10
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # Emailed account links: a password reset link works this long, an invitation this many days;
    # a reset link is sent to one address at most this many times an hour (more requests get the
    # same answer on the page, and no email).
    PASSWORD_RESET_MINUTES = 60
    INVITATION_DAYS = 7
    PASSWORD_RESET_EMAILS_PER_HOUR = 3
    # Before its first request, each app process finishes or removes what crashed uploads and
    # deletes left in instance/ (as `flask check-files --repair` does).
    RECOVER_FILES_ON_START = True
    # The job queue (sct_forms.jobs): None keeps it in instance/queue.sqlite3 (one server);
    # "redis://host:6379/0" when several servers share it. QUEUE_IMMEDIATE runs each task at
    # once where it is queued, without a worker; None means "when TESTING".
    QUEUE_URL: str | None = None
    QUEUE_IMMEDIATE: bool | None = None
    # "json": one JSON object per log line, with the request's id (sct_forms.logs); "text":
    # Flask's plain lines. Unset: json when SCT_ENV=production, else text.
    LOG_FORMAT: str | None = None
    # Where stored files are kept (sct_forms.storage): None or "" for the instance folder,
    # "file:///path" for another folder, "s3://bucket/prefix?endpoint=URL&region=NAME" for S3
    # with the two keys below (never logged). Evidence, packets and certificates do not use it
    # yet: they still write to the instance folder.
    STORAGE_URL: str | None = None
    STORAGE_ACCESS_KEY: str | None = None
    STORAGE_SECRET_KEY: str | None = None
    # /readyz remembers its answer this long, so frequent probes cost one query now and then.
    READINESS_CACHE_SECONDS = 5


# Environment variables read at start-up, with the type each is converted to.
ENVIRONMENT_KEYS: dict[str, type] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": bool,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_DELIVERY": str,
    "MAIL_TIMEOUT": int,
    "MAIL_MAX_ATTEMPTS": int,
    "UPLOAD_MAX_BYTES": int,
    "PUBLIC_BASE_URL": str,
    "SESSION_COOKIE_SECURE": bool,
    "SESSION_IDLE_MINUTES": int,
    "SESSION_MAX_HOURS": int,
    "TRUSTED_PROXY_COUNT": int,
    "PASSWORD_RESET_MINUTES": int,
    "INVITATION_DAYS": int,
    "PASSWORD_RESET_EMAILS_PER_HOUR": int,
    "RECOVER_FILES_ON_START": bool,
    "QUEUE_URL": str,
    "LOG_FORMAT": str,
    "STORAGE_URL": str,
    "STORAGE_ACCESS_KEY": str,
    "STORAGE_SECRET_KEY": str,
}


def _convert(raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return kind(raw)


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings present in the environment, converted to their types."""
    found: dict[str, Any] = {}
    for key, kind in ENVIRONMENT_KEYS.items():
        if environ.get(key):
            found[key] = _convert(environ[key], kind)
    if "LOG_FORMAT" in found:
        found["LOG_FORMAT"] = found["LOG_FORMAT"].strip().lower()
    elif is_production(environ):
        found["LOG_FORMAT"] = "json"
    return found


def is_production(environ: Mapping[str, str]) -> bool:
    """SCT_ENV=production: log lines default to JSON."""
    return environ.get("SCT_ENV", "").strip().lower() == "production"


def log_format(environ: Mapping[str, str]) -> str:
    """The log format the environment alone chooses: LOG_FORMAT, else json in production."""
    return from_environment(environ).get("LOG_FORMAT") or "text"


def database_uri(url: str) -> str:
    """Normalise a DATABASE_URL so SQLAlchemy uses psycopg 3 for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_path() -> str:
    return os.environ.get("SCT_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
