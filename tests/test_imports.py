"""Every import sits at the top of its module, so what a package reaches into shows in its header.

The import contracts themselves (which package may import which) are in pyproject.toml and run
by ``make lint`` with ``lint-imports``; these tests keep the imports where those contracts see
them plainly, and keep every blueprint module under the contracts about views.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sct_forms"
# The app factory imports the blueprints inside create_app by design; migrations run in Alembic.
FACTORY = PACKAGE / "__init__.py"
MIGRATIONS = PACKAGE / "migrations"


def imports_inside_functions(source: str) -> list[tuple[int, str]]:
    """(line, source) of each import statement inside a function or method of ``source``."""
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.add((inner.lineno, ast.get_source_segment(source, inner)))
    return sorted(found)


def _modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != FACTORY and MIGRATIONS not in path.parents
    ]


def test_no_module_outside_the_app_factory_imports_inside_a_function():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {statement}"
        for path in _modules()
        for line, statement in imports_inside_functions(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "Move these imports to the top of their module:\n" + "\n".join(found)


def test_the_check_finds_imports_in_functions_methods_and_nested_blocks():
    source = (
        "import os\n"
        "def view():\n"
        "    from sct_forms.toolkits.views import review_page\n"
        "class Page:\n"
        "    def build(self):\n"
        "        if True:\n"
        "            import json\n"
        "async def later():\n"
        "    def inner():\n"
        "        from x import y\n"
    )
    assert imports_inside_functions(source) == [
        (3, "from sct_forms.toolkits.views import review_page"),
        (7, "import json"),
        (10, "from x import y"),
    ]


def test_the_check_covers_the_whole_package_but_the_factory_and_migrations():
    checked = {path.relative_to(PACKAGE).as_posix() for path in _modules()}
    assert {"toolkits/views.py", "evidence/views.py", "domain/workflow.py", "cli.py"} <= checked
    assert "__init__.py" not in checked
    assert not any(name.startswith("migrations/") for name in checked)


def _blueprint_modules() -> set[str]:
    """Dotted names of the modules that define a Flask blueprint (the views modules)."""
    names = set()
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Blueprint"
            ):
                names.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


def test_every_blueprint_module_is_under_the_contracts_about_views():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["type"]: c for c in config["tool"]["importlinter"]["contracts"]}
    views = _blueprint_modules()
    assert "sct_forms.toolkits.views" in views and "sct_forms.toolkits.submission" in views
    assert views == set(contracts["protected"]["protected_modules"])
    assert views == set(contracts["independence"]["modules"])
