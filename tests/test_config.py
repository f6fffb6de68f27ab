"""Configuration layers and the refusal to start insecurely."""

from __future__ import annotations

import pytest

from sct_forms import InsecureConfigurationError, create_app
from sct_forms.config import database_uri, from_environment


def test_production_start_refuses_the_default_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(InsecureConfigurationError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_layers_apply_in_order_instance_then_environment_then_caller(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-instance'\nUPLOAD_MAX_BYTES = 1\nPUBLIC_BASE_URL = 'https://i'\n"
    )
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "2")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://env")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"PUBLIC_BASE_URL": "https://caller", "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config["UPLOAD_MAX_BYTES"] == 2
    assert app.config["PUBLIC_BASE_URL"] == "https://caller"


def test_sqlite_in_the_instance_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/sct_forms.sqlite3"


def test_environment_values_are_converted():
    found = from_environment({"MAIL_PORT": "2525", "MAIL_USE_TLS": "yes", "IGNORED": "1"})
    assert found == {"MAIL_PORT": 2525, "MAIL_USE_TLS": True}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_uses_psycopg_3(given, expected):
    assert database_uri(given) == expected


def test_account_link_and_recovery_settings_are_read_from_the_environment():
    found = from_environment(
        {
            "PASSWORD_RESET_MINUTES": "30",
            "INVITATION_DAYS": "3",
            "PASSWORD_RESET_EMAILS_PER_HOUR": "2",
            "RECOVER_FILES_ON_START": "false",
        }
    )
    assert found == {
        "PASSWORD_RESET_MINUTES": 30,
        "INVITATION_DAYS": 3,
        "PASSWORD_RESET_EMAILS_PER_HOUR": 2,
        "RECOVER_FILES_ON_START": False,
    }
