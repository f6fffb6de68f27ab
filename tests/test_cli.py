"""Command-line tasks: seed, demo accounts, create-user and import-actions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from sct_forms.auth.passwords import verify_password
from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, Category, Cycle, Municipality, User
from sct_forms.reference_data import cycle_for_date


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_loads_169_towns_and_a_second_run_adds_nothing(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert count(Municipality) == 169
    assert count(Category) == 13
    assert count(Action) == 36
    assert count(Cycle) == 1
    again = runner.invoke(args=["seed"])
    assert "0 municipalities added, 0 categories added, 0 actions added, 0 cycles added" in (
        again.output
    )
    assert (count(Municipality), count(Category), count(Action), count(Cycle)) == (169, 13, 36, 1)


def test_seeded_towns_carry_region_and_fips(runner):
    runner.invoke(args=["seed"])
    hartford = db.session.scalar(select(Municipality).where(Municipality.name == "Hartford"))
    assert hartford.slug == "hartford"
    assert hartford.fips.startswith("9")
    assert "Capitol" in hartford.planning_region
    assert db.session.scalar(select(Municipality).where(Municipality.slug == "north-branford"))


def test_default_cycles_follow_the_two_windows_a_year():
    spring = cycle_for_date(date(2027, 3, 2))
    fall = cycle_for_date(date(2026, 11, 25))
    assert spring["name"] == "2027 Spring" and spring["submission_deadline"] == date(2027, 6, 30)
    assert fall["name"] == "2026 Fall" and fall["opens_on"] == date(2026, 7, 1)
    assert fall["lookback_start"] == date(2023, 7, 1)


def test_demo_accounts_are_created_once_and_get_new_passwords(runner):
    runner.invoke(args=["seed"])
    first = runner.invoke(args=["demo-accounts"])
    assert first.exit_code == 0, first.output
    assert count(User) == 4
    second = runner.invoke(args=["demo-accounts"])
    assert count(User) == 4
    staff = db.session.scalar(select(User).where(User.role == "staff"))
    line = next(row for row in second.output.splitlines() if staff.email in row)
    assert verify_password(staff.password_hash, line.split()[-1])
    assert staff.municipality.name == "Windham"


def test_create_user_prints_a_generated_password_once(runner, town):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "New.Person@Windham.test",
            "--role",
            "staff",
            "--town",
            "Windham",
            "--name",
            "New Person",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "new.person@windham.test"))
    password = result.output.split("Password (shown once): ")[1].strip()
    assert verify_password(user.password_hash, password)
    assert user.municipality_id == town.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))


def test_create_user_with_a_prompted_password(runner, app):
    result = runner.invoke(
        args=["create-user", "--email", "r@sct.test", "--role", "reviewer", "--prompt-password"],
        input="a long enough secret\na long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "shown once" not in result.output
    user = db.session.scalar(select(User).where(User.email == "r@sct.test"))
    assert verify_password(user.password_hash, "a long enough secret")


def test_create_user_refuses_staff_without_a_town_and_duplicates(runner, staff_user):
    no_town = runner.invoke(args=["create-user", "--email", "x@y.test", "--role", "staff"])
    assert no_town.exit_code != 0 and "staff accounts need a town" in no_town.output
    again = runner.invoke(args=["create-user", "--email", staff_user.email, "--role", "reviewer"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_import_actions_adds_a_new_catalog_year(runner, catalog, tmp_path):
    csv_file = tmp_path / "catalog-2026.csv"
    csv_file.write_text(
        "number,title,category_number,required_for\n"
        '1.1,Optimize for Equity,1,"bronze,silver,gold"\n'
        "3.4,Develop an Open Space Plan (2026),3,\n"
        "3.15,Restore Riverbanks,3,\n"
    )
    result = runner.invoke(args=["import-actions", str(csv_file), "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "3 actions added, 0 updated" in result.output
    titles = db.session.scalars(
        select(Action.title).where(Action.catalog_year == 2026).order_by(Action.number)
    ).all()
    assert "Restore Riverbanks" in titles
    assert count(Action) == 7 + 3  # the 2024 catalog is untouched


def test_import_actions_updates_changed_titles(runner, catalog, tmp_path):
    csv_file = tmp_path / "fix.csv"
    csv_file.write_text("number,title,category_number,required_for\n3.4,Open Space Plans,3,\n")
    result = runner.invoke(args=["import-actions", str(csv_file), "--year", "2024"])
    assert "0 actions added, 1 updated" in result.output
    assert catalog["3.4"].title == "Open Space Plans"


def test_import_actions_reports_each_bad_row_and_imports_nothing(runner, catalog, tmp_path):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "number,title,category_number,required_for\n"
        "3.15,Restore Riverbanks,3,\n"
        "3.x,Broken number,3,\n"
        "3.16,,3,\n"
        "7.1,Wrong category,3,\n"
        "3.17,Unknown tier,3,platinum\n"
        "3.18,Too,many,3,x\n"
    )
    result = runner.invoke(args=["import-actions", str(csv_file), "--year", "2026"])
    assert result.exit_code != 0
    assert "nothing was imported" in result.output
    assert 'Line 3: the action number "3.x" is not like 3.4.' in result.output
    assert "Line 4: action 3.16 has no title." in result.output
    assert "Line 5: action 7.1 does not belong to category 3." in result.output
    assert 'Line 6: required_for names "platinum"' in result.output
    assert "Line 7: this line has more values than the header has columns." in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Action.id)).where(Action.catalog_year == 2026)) == 0


def test_import_actions_needs_the_right_columns(runner, catalog, tmp_path):
    csv_file = tmp_path / "cols.csv"
    csv_file.write_text("num,name\n3.4,x\n")
    result = runner.invoke(args=["import-actions", str(csv_file), "--year", "2026"])
    assert result.exit_code != 0
    assert "Line 1: the header must name the columns" in result.output
