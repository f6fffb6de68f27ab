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
    PERMANENT_SESSION_LIFETIME = 8 * 60 * 60
    WTF_CSRF_TIME_LIMIT = 8 * 60 * 60
    WTF_CSRF_SSL_STRICT = False
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "America/New_York"
    LANGUAGES: tuple[str, ...] | None = None  # None: English plus every compiled catalog
    # Sign-in throttling: failures counted per e-mail and per client address in a window.
    SIGNIN_WINDOW_SECONDS = 15 * 60
    SIGNIN_MAX_FAILURES_PER_EMAIL = 5
    SIGNIN_MAX_FAILURES_PER_IP = 30
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "sct-forms@localhost"
    # "background": a thread sends right after the request; "inline": before it returns;
    # "off": only `flask deliver-outbox` (run by cron or a timer) sends.
    MAIL_DELIVERY = "background"
    MAIL_TIMEOUT = 10
    MAIL_MAX_ATTEMPTS = 10
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"


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
    return found


def database_uri(url: str) -> str:
    """Normalise a DATABASE_URL so SQLAlchemy uses psycopg 3 for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_path() -> str:
    return os.environ.get("SCT_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
