"""Shared by the file-check tests: a dead writer, a simulated kill, running check-files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from sct_forms.evidence import services
from sct_forms.files import Writer, host_name
from sct_forms.storage import LocalStorage
from tests.evidence import samples


class Killed(BaseException):  # noqa: N818 - reads as what happened
    """Stands for SIGKILL: raised between two steps, and no clean-up code runs after it."""


def dead_writer() -> Writer:
    """A writer on this host whose process has exited."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as finished:
        finished.wait()
    return Writer(host_name(), finished.pid, 0)


@dataclass
class Check:
    exit_code: int
    output: str

    @property
    def lines(self) -> list[str]:
        return self.output.strip().splitlines()


def check_files(app: Flask, *args: str) -> Check:
    result = app.test_cli_runner().invoke(args=["check-files", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Check(result.exit_code, result.output)


def repair(app: Flask) -> Check:
    """``check-files --repair``, which must leave nothing for a person to do."""
    check = check_files(app, "--repair")
    assert check.exit_code == 0, check.output
    return check


def evidence_files(app: Flask) -> list[Path]:
    """Every file in the instance folder's evidence area, pending files too (local storage)."""
    root = Path(app.instance_path) / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def evidence_path(app: Flask, name: str) -> Path:
    """Where the local storage keeps the evidence file ``name``."""
    return LocalStorage(app.instance_path).path("evidence", name)


def upload_photo(toolkit, user):  # noqa: ANN001, ANN201
    """A photo through the real service: an original and a print copy are stored."""
    return services.add_evidence(
        toolkit,
        "outreach",
        data=samples.jpeg_bytes((80, 60)),
        filename="table.jpg",
        title="Sign-in table",
        alt_text="People signing in at a table",
        people_consented=True,
        user=user,
    )
