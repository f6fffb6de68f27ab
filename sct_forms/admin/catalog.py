"""The action catalog in the program console: reading it, importing a CSV, editing and retiring.

Administrators only: every function that changes the catalog refuses anyone else
(PermissionError), whatever page or command calls it. Every change is audited with the values
before and after.

Importing is two requests, a check and a confirmation, and the file must not be sent twice nor
be trusted from the browser the second time. The checked bytes are therefore kept on the server,
under ``instance/catalog-uploads/<token>.csv``, beside ``<token>.json`` naming who uploaded it,
for which catalog year, when, and the file's SHA-256. ``token`` is 32 random bytes (URL-safe
base64), so a pending file cannot be guessed; the preview's form carries the token, the file's
SHA-256 and the SHA-256 of the changes shown. The confirmation reads the file again, checks that
it is the same person's, younger than an hour and still has that SHA-256 (else: tampered or
expired), checks every row again and computes the changes again against the catalog as it is
now: when they differ from the ones shown (someone changed the catalog meanwhile), the preview is
stale and nothing is imported. Keeping the bytes in the session instead would put up to
``UPLOAD_LIMIT`` in a signed cookie, which browsers cap at 4 KB. The confirmed changes are
written in one transaction, and the pending file is removed after the commit; files left behind
by previews never confirmed are removed on the next check once a day old.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from sct_forms import audit
from sct_forms.domain.forms import OWN_ACTION
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.files import write_atomically
from sct_forms.i18n import gettext as _
from sct_forms.models import Action, Category, Cycle, Toolkit, User, utcnow
from sct_forms.reference_data import (
    TITLE_LIMIT,
    CatalogImportError,
    CatalogPlan,
    apply_plan,
    parse_action_rows,
    plan_import,
)

UPLOAD_LIMIT = 512 * 1024  # the 2024 catalog is 6 KB; a file this large is not a catalog
PENDING_FOLDER = "catalog-uploads"
PENDING_LIFETIME = timedelta(hours=1)
LEFTOVER_AGE = timedelta(days=1)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The certification rules name these actions (Action 1.1's toolkit, Gold's 1.2 and 1.3).
EQUITY_NUMBERS = frozenset({"1.1", *OWN_ACTION.values()})
YEARS = (2000, 2100)


class CatalogRefusedError(ValueError):
    """A change the catalog does not take; the message says why in plain words."""


class StalePreviewError(CatalogRefusedError):
    """The preview confirmed is unknown, expired, altered or no longer what an import would do."""


def may_manage_catalog(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def _require_admin(user: User) -> None:
    if not may_manage_catalog(user):
        raise PermissionError("only administrators change the action catalog")


# --- Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    action: Action
    toolkit_count: int


def catalog_years() -> list[int]:
    """Every year that has actions or that a cycle uses, newest first."""
    years = set(db.session.scalars(select(Action.catalog_year).distinct()))
    years |= set(db.session.scalars(select(Cycle.catalog_year).distinct()))
    return sorted(years, reverse=True)


def catalog_of(year: int) -> list[tuple[Category, list[CatalogEntry]]]:
    """The year's actions by category, each with the number of toolkits and records using it."""
    uses = dict(
        db.session.execute(
            select(Toolkit.paired_action_id, func.count(Toolkit.id))
            .join(Action, Action.id == Toolkit.paired_action_id)
            .where(Action.catalog_year == year)
            .group_by(Toolkit.paired_action_id)
        ).all()
    )
    actions = db.session.scalars(select(Action).where(Action.catalog_year == year)).all()
    groups: dict[int, tuple[Category, list[CatalogEntry]]] = {}
    for action in sorted(actions, key=lambda a: a.sort_key):
        entry = CatalogEntry(action, uses.get(action.id, 0))
        groups.setdefault(action.category.number, (action.category, []))[1].append(entry)
    return [groups[number] for number in sorted(groups)]


# --- Importing a CSV --------------------------------------------------------------------------


@dataclass
class CheckedImport:
    """A file that passed every check, kept on the server until it is confirmed."""

    token: str
    sha256: str
    plan: CatalogPlan

    @property
    def plan_sha256(self) -> str:
        return plan_digest(self.plan)


def plan_digest(plan: CatalogPlan) -> str:
    data = json.dumps([plan.catalog_year, plan.fingerprint()], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def decode_catalog(data: bytes) -> str:
    """The file's text: UTF-8 with or without a byte order mark; anything else is refused."""
    if len(data) > UPLOAD_LIMIT:
        raise CatalogImportError(
            [
                _(
                    "The file is larger than %(limit)s KB, too large for an action catalog. "
                    "Check that you chose the catalog file.",
                    limit=UPLOAD_LIMIT // 1024,
                )
            ]
        )
    if not data.strip():
        raise CatalogImportError([_("The file is empty.")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CatalogImportError(
            [
                _(
                    "The file is not in UTF-8 (the first character that is not is on line "
                    '%(line)s). In your spreadsheet program, save it as "CSV UTF-8" and '
                    "check it again.",
                    line=line,
                )
            ]
        ) from None


def _parse_and_plan(data: bytes, year: int) -> CatalogPlan:
    text = decode_catalog(data)
    rows = parse_action_rows(io.StringIO(text, newline=""))
    return plan_import(rows, year)


def _pending_folder() -> Path:
    return Path(current_app.instance_path) / PENDING_FOLDER


def _remove_leftovers(folder: Path) -> None:
    limit = (utcnow() - LEFTOVER_AGE).timestamp()
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            continue  # removed by another request meanwhile


def check_upload(actor: User, year: int, data: bytes) -> CheckedImport:
    """Check every row of an uploaded catalog and keep the file for its confirmation.

    Raises CatalogImportError listing every problem (nothing is kept then). Writes nothing to
    the database.
    """
    _require_admin(actor)
    _check_year(year)
    plan = _parse_and_plan(data, year)
    folder = _pending_folder()
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    token = secrets.token_urlsafe(32)
    sha256 = hashlib.sha256(data).hexdigest()
    meta = {
        "user_id": actor.id,
        "catalog_year": year,
        "sha256": sha256,
        "created": utcnow().isoformat(),
    }
    write_atomically(folder / f"{token}.csv", data)
    write_atomically(folder / f"{token}.json", json.dumps(meta).encode())
    return CheckedImport(token, sha256, plan)


def _check_year(year: int) -> None:
    if not YEARS[0] <= year <= YEARS[1]:
        raise CatalogRefusedError(
            _("Give a catalog year from %(first)s to %(last)s.", first=YEARS[0], last=YEARS[1])
        )


def _stale() -> StalePreviewError:
    return StalePreviewError(
        _(
            "This preview is out of date or was changed, so nothing was imported. "
            "Check the file again to see what it would change now."
        )
    )


def pending_import(actor: User, token: str, sha256: str) -> CheckedImport:
    """The kept file named by a preview's form, checked again against today's catalog."""
    _require_admin(actor)
    if not (_TOKEN.fullmatch(token or "") and _SHA256.fullmatch(sha256 or "")):
        raise _stale()
    folder = _pending_folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.csv").read_bytes()
        year = int(meta["catalog_year"])
        created = datetime.fromisoformat(meta["created"])
    except (OSError, ValueError, KeyError, TypeError):
        raise _stale() from None
    digest = hashlib.sha256(data).hexdigest()
    if (
        meta.get("user_id") != actor.id
        or not hmac.compare_digest(digest, sha256)
        or not hmac.compare_digest(str(meta.get("sha256", "")), sha256)
        or created < utcnow() - PENDING_LIFETIME
    ):
        raise _stale()
    try:
        plan = _parse_and_plan(data, year)
    except CatalogImportError:
        # Valid at the check, refused now: a category was removed meanwhile.
        raise _stale() from None
    return CheckedImport(token, digest, plan)


def confirm_import(actor: User, token: str, sha256: str, shown_plan: str) -> CatalogPlan:
    """Import a checked file if its changes are still the ones the preview showed.

    One transaction: every added and changed action with its audit record, or nothing.
    """
    checked = pending_import(actor, token, sha256)
    if not hmac.compare_digest(checked.plan_sha256, shown_plan or ""):
        raise _stale()
    plan = checked.plan
    if plan.change_count == 0:
        raise CatalogRefusedError(_("The catalog already matches this file: nothing to import."))
    added = apply_plan(plan)
    for action in added:
        after = {
            "title": action.title,
            "category": action.category.number,
            "required_for": action.required_for,
        }
        _record(actor, action, "action.added", {}, after)
    for change in plan.changed:
        _record(actor, change.action, "action.changed", change.before, change.after)
    audit.record(
        "catalog.imported",
        actor=actor,
        object_type="catalog",
        object_id=plan.catalog_year,
        sha256=checked.sha256,
        added=len(added),
        changed=len(plan.changed),
    )
    db.session.commit()
    for suffix in (".csv", ".json"):
        (_pending_folder() / f"{token}{suffix}").unlink(missing_ok=True)
    return plan


# --- Editing one action -----------------------------------------------------------------------


def edit_titles(actor: User, action: Action, title: str, title_es: str | None) -> bool:
    """Set the English and Spanish titles (Spanish may be empty); True when something changed."""
    _require_admin(actor)
    title = title.strip()
    title_es = (title_es or "").strip() or None
    if not title:
        raise CatalogRefusedError(_("Give the action a title in English."))
    if len(title) > TITLE_LIMIT or len(title_es or "") > TITLE_LIMIT:
        raise CatalogRefusedError(_("Use %(max)s characters or fewer.", max=TITLE_LIMIT))
    before = {"title": action.title, "title_es": action.title_es}
    after = {"title": title, "title_es": title_es}
    if before == after:
        return False
    action.title, action.title_es = title, title_es
    _record(actor, action, "action.titles_changed", before, after)
    db.session.commit()
    return True


def retire(actor: User, action: Action) -> None:
    """Stop offering an action for new toolkits; the toolkits that use it keep it."""
    _require_admin(actor)
    if action.number in EQUITY_NUMBERS:
        raise CatalogRefusedError(
            _(
                "Action %(number)s cannot be retired: the certification rules ask for it.",
                number=action.number,
            )
        )
    if action.retired_at is not None:
        raise CatalogRefusedError(_("%(action)s is already retired.", action=action.label))
    action.retired_at = utcnow()
    _record(
        actor,
        action,
        "action.retired",
        {"retired_at": None},
        {"retired_at": action.retired_at.isoformat()},
    )
    db.session.commit()


def unretire(actor: User, action: Action) -> None:
    """Offer a retired action again."""
    _require_admin(actor)
    if action.retired_at is None:
        raise CatalogRefusedError(_("%(action)s is not retired.", action=action.label))
    before = action.retired_at.isoformat()
    action.retired_at = None
    _record(actor, action, "action.unretired", {"retired_at": before}, {"retired_at": None})
    db.session.commit()


def _record(actor: User, action: Action, what: str, before: dict, after: dict) -> None:
    audit.record(
        what,
        actor=actor,
        object_type="action",
        object_id=action.id,
        catalog_year=action.catalog_year,
        number=action.number,
        before=before,
        after=after,
    )
