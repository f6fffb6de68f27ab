"""sct-forms: Equity Toolkit documentation, review and certification for Sustainable CT."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from sct_forms.config import (
    INSECURE_DEFAULT_SECRET,
    PROJECT_ROOT,
    DefaultConfig,
    database_uri,
    from_environment,
    instance_path,
)


class InsecureConfigurationError(RuntimeError):
    """The app was asked to start for real with settings that are only safe in development."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults, instance/config.py, environment, then ``config``."""
    app = Flask(
        __name__,
        instance_path=instance_path(),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment(os.environ))
    if config:
        app.config.update(config)
    _configure_database(app)
    # A request may carry one file at the limit plus the form fields around it.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["UPLOAD_MAX_BYTES"] + 1024 * 1024
    _configure_languages(app)
    _configure_sessions(app)
    _trust_proxies(app)
    _refuse_insecure_start(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from sct_forms import logs

    logs.register(app)  # first: every later before_request and log line has the request's id
    _init_extensions(app)
    from sct_forms import inputs

    inputs.register(app)  # before the blueprints: their <int:...> ids use its bounded converter
    _register_blueprints(app)

    from sct_forms import cli, errors, static_files, templating

    errors.register(app)
    templating.register(app)
    static_files.register(app)
    cli.register(app)
    if app.config["RECOVER_FILES_ON_START"]:
        from sct_forms.maintenance.recovery import recover_when_serving_starts

        recover_when_serving_starts(app)
    return app


def _configure_database(app: Flask) -> None:
    url = app.config.get("DATABASE_URL")
    if url:
        app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(url)
    elif not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = Path(app.instance_path) / "sct_forms.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A SQLite file cannot drop a pooled connection as a database server can: checking
        # each connection before every request would cost a statement for nothing.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
            "pool_pre_ping": False,
        }


def _configure_languages(app: Flask) -> None:
    from sct_forms.i18n import available_languages

    if not app.config.get("LANGUAGES"):
        app.config["LANGUAGES"] = available_languages(Path(app.root_path) / "translations")


def _configure_sessions(app: Flask) -> None:
    """Cookie lifetimes follow SESSION_MAX_HOURS; HTTPS-only sessions use a __Host- cookie."""
    hours = app.config["SESSION_MAX_HOURS"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)
    app.config["WTF_CSRF_TIME_LIMIT"] = hours * 60 * 60
    if app.config["SESSION_COOKIE_SECURE"]:
        # Browsers keep a __Host- cookie only when it is Secure, has Path=/ and no Domain, so
        # no other host or path (nor plain HTTP) can set or overwrite it.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None
        app.config["REMEMBER_COOKIE_SECURE"] = True


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_COUNT proxies, take the client's address, scheme and host from them."""
    hops = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _refuse_insecure_start(app: Flask) -> None:
    if app.config["SECRET_KEY"] == INSECURE_DEFAULT_SECRET and not (app.debug or app.testing):
        raise InsecureConfigurationError(
            "SECRET_KEY is the insecure default. Set the SECRET_KEY environment variable or "
            "put SECRET_KEY in instance/config.py before starting sct-forms."
        )


def _init_extensions(app: Flask) -> None:
    from sct_forms import jobs, models  # noqa: F401 - models registers the tables
    from sct_forms.auth.services import load_user_from_session_id
    from sct_forms.extensions import babel, csrf, db, htmx, login_manager, migrate
    from sct_forms.i18n import select_locale

    db.init_app(app)
    jobs.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _enable_sqlite_foreign_keys(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user_from_session_id)
    from sct_forms.auth.views import sign_in_to_keep_posted_text

    login_manager.unauthorized_handler(sign_in_to_keep_posted_text)
    from sct_forms.auth.sessions import enforce_lifetime

    # After CSRFProtect's check (registered above), before any view: an ended session then
    # reaches the view signed out, which keeps a posted form's text (auth.resume).
    app.before_request(enforce_lifetime)
    from sct_forms.i18n import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"


def _enable_sqlite_foreign_keys(app: Flask) -> None:
    from sqlalchemy import event

    from sct_forms.extensions import db

    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # Write-ahead logging: readers do not wait for a writer's commit, and a commit
            # appends to one log file instead of writing and deleting a journal each time.
            # (A database in memory keeps its own mode: the statement changes nothing there.)
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()


def _register_blueprints(app: Flask) -> None:
    from sct_forms.admin.accounts_views import bp as admin_accounts_bp
    from sct_forms.admin.catalog_views import bp as admin_catalog_bp
    from sct_forms.admin.cycle_views import bp as admin_cycles_bp
    from sct_forms.admin.log_views import bp as admin_log_bp
    from sct_forms.admin.outbox_views import bp as admin_outbox_bp
    from sct_forms.admin.views import bp as admin_bp
    from sct_forms.auth.account_views import bp as account_bp
    from sct_forms.auth.views import bp as auth_bp
    from sct_forms.certificates.views import bp as certificates_bp
    from sct_forms.coaching.views import bp as coaching_bp
    from sct_forms.documents.views import bp as documents_bp
    from sct_forms.evidence.views import bp as evidence_bp
    from sct_forms.exports.exports_views import bp as exports_bp
    from sct_forms.health.views import bp as health_bp
    from sct_forms.reminders.views import bp as reminders_bp
    from sct_forms.review.views import bp as review_bp
    from sct_forms.statewide.public_views import bp as certified_towns_bp
    from sct_forms.statewide.views import bp as statewide_bp
    from sct_forms.toolkits import filters
    from sct_forms.toolkits.copy_views import bp as recertification_bp
    from sct_forms.toolkits.submission import bp as submission_bp
    from sct_forms.toolkits.views import bp as toolkits_bp
    from sct_forms.towns.team_views import bp as town_team_bp
    from sct_forms.towns.views import bp as towns_bp

    for blueprint in (
        auth_bp,
        account_bp,
        reminders_bp,
        towns_bp,
        town_team_bp,
        toolkits_bp,
        submission_bp,
        recertification_bp,
        evidence_bp,
        review_bp,
        coaching_bp,
        admin_bp,
        admin_outbox_bp,
        admin_log_bp,
        exports_bp,
        admin_cycles_bp,
        admin_catalog_bp,
        admin_accounts_bp,
        certificates_bp,
        documents_bp,
        statewide_bp,
        certified_towns_bp,
        health_bp,
    ):
        app.register_blueprint(blueprint)
    filters.register(app)
    from sct_forms.review import filters as review_filters

    review_filters.register(app)
