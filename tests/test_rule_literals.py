"""Roles, workflow states and certificate statuses are named in ``sct_forms/domain/`` only;
everything else asks there.

The words come from the ``Role``, ``State`` and ``CertificateStatus`` enums, so the check follows
the table: a state added to the workflow is at once a word no other module may spell out. Python
is read with ``ast`` (string constants, wherever they stand); templates with a regular expression
for a quoted word, which is how a template would compare a state, a role or a status.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sct_forms.domain.certificates import CertificateStatus
from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sct_forms"
TEMPLATES = ROOT / "templates"
# The domain is where the words belong; migrations record the schema as it was on their day.
ALLOWED = (PACKAGE / "domain", PACKAGE / "migrations")

RULE_WORDS = frozenset(Role) | frozenset(State) | frozenset(CertificateStatus)
_ALTERNATIVES = "|".join(sorted(map(re.escape, RULE_WORDS)))
# The same quote on both sides of a whole word: "draft" and 'draft', not "draft_saved".
_QUOTED_WORD = re.compile(rf"""(["'])({_ALTERNATIVES})\1""")


def _blueprint_names(tree: ast.AST) -> set[int]:
    """ids of the string constants that name a blueprint.

    ``Blueprint("admin", ...)`` names the admin pages: the word is part of every endpoint
    ("admin.overview") and of no rule, so it is exempt here, and only there.
    """
    names: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called != "Blueprint":
            continue
        candidates = node.args[:1] + [k.value for k in node.keywords if k.arg == "name"]
        names.update(id(c) for c in candidates if isinstance(c, ast.Constant))
    return names


def rule_literals_in_python(source: str) -> list[tuple[int, str]]:
    """(line, word) of each string constant in ``source`` that is a role, a state or a status."""
    tree = ast.parse(source)
    exempt = _blueprint_names(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in RULE_WORDS
        and id(node) not in exempt
    )


def rule_literals_in_template(text: str) -> list[tuple[int, str]]:
    """(line, word) of each quoted role, state or status in a template's text."""
    return [
        (number, match.group(2))
        for number, line in enumerate(text.splitlines(), start=1)
        for match in _QUOTED_WORD.finditer(line)
    ]


def _python_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(allowed in path.parents for allowed in ALLOWED)
    ]


def test_no_module_outside_the_domain_names_a_role_a_state_or_a_status():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {word!r}"
        for path in _python_modules()
        for line, word in rule_literals_in_python(path.read_text(encoding="utf-8"))
    ]
    assert found == [], (
        f"{len(found)} role, state or status words outside sct_forms/domain/; use Role, State, "
        "CertificateStatus or a question the domain answers (workflow.may, "
        "roles.is_town_staff, ...):\n"
        + "\n".join(found)
    )


def test_no_template_names_a_role_a_state_or_a_status():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {word!r}"
        for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file())
        for line, word in rule_literals_in_template(path.read_text(encoding="utf-8"))
    ]
    assert found == [], (
        f"{len(found)} role, state or status words in templates; pass what the workflow allows "
        "from the view (or a global built on the domain, or a model's is_revoked) instead:\n"
        + "\n".join(found)
    )


def test_the_words_are_every_role_every_state_and_every_certificate_status():
    assert {"staff", "reviewer", "coach", "admin"} <= RULE_WORDS
    assert {"draft", "in_review", "changes_requested", "not_approved", "withdrawn"} <= RULE_WORDS
    assert {"valid", "superseded", "revoked"} <= RULE_WORDS
    assert len(RULE_WORDS) == len(Role) + len(State) + len(CertificateStatus)


def test_the_python_check_finds_words_wherever_they_stand():
    source = (
        'ROLES = ("staff", "coach")\n'
        "def view(user, toolkit):\n"
        "    if user.role != 'admin' and toolkit.state in {'in_review'}:\n"
        "        return dict(state='draft')\n"
        "    return f\"{toolkit.state}\" == \"withdrawn\"\n"
        '"""A docstring that mentions staff and draft in passing is prose."""\n'
        'label = "staff member"\n'
    )
    assert rule_literals_in_python(source) == [
        (1, "coach"),
        (1, "staff"),
        (3, "admin"),
        (3, "in_review"),
        (4, "draft"),
        (5, "withdrawn"),
    ]


def test_only_a_blueprint_name_is_exempt():
    source = (
        'bp = Blueprint("admin", __name__)\n'
        'other = flask.Blueprint(name="coach", import_name=__name__)\n'
        'roles_required("admin")\n'
    )
    assert rule_literals_in_python(source) == [(3, "admin")]


def test_the_template_check_finds_quoted_words_only():
    text = (
        '{% if toolkit.state == "changes_requested" %}\n'
        "{% if current_user.role in ('staff', 'reviewer') %}\n"
        "<p>{{ _('Reviewers and staff see this.') }} {{ toolkit.state | state_label }}</p>\n"
        '<option value="submitted_at">\n'
        '{% if public_status == "valid" %}<td class="valid-through">{% endif %}\n'
    )
    assert rule_literals_in_template(text) == [
        (1, "changes_requested"),
        (2, "staff"),
        (2, "reviewer"),
        (5, "valid"),
    ]
