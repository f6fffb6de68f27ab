"""Command-line tasks: seed, demo accounts, users and invitations, catalog import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from sct_forms import worker
from sct_forms.admin.services import AccountError, create_user, find_municipality, reset_password
from sct_forms.auth.invitations import invite_user
from sct_forms.auth.password_policy import password_error, personal_words
from sct_forms.domain.roles import TOWN_ROLES, Role
from sct_forms.extensions import db
from sct_forms.mail import cli as mail_cli
from sct_forms.mail.delivery import deliver_pending
from sct_forms.maintenance import cli as maintenance_cli
from sct_forms.models import User
from sct_forms.reference_data import CatalogImportError, import_actions, seed
from sct_forms.reminders import cli as reminders_cli

# The stored values: click matches an Enum choice by its member name ("STAFF"), not its value.
ROLE_CHOICES = [role.value for role in Role]
DEMO_TOWN = "Windham"
DEMO_ACCOUNTS = (
    ("staff@demo.sct-forms.test", "Dana Staff", Role.STAFF),
    ("reviewer@demo.sct-forms.test", "Riley Reviewer", Role.REVIEWER),
    ("coach@demo.sct-forms.test", "Casey Coach", Role.COACH),
    ("admin@demo.sct-forms.test", "Alex Admin", Role.ADMIN),
)


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_accounts_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(invite_user_command)
    app.cli.add_command(import_actions_command)
    mail_cli.register(app)
    worker.register(app)
    maintenance_cli.register(app)
    reminders_cli.register(app)


@click.command("seed")
def seed_command() -> None:
    """Load the 169 towns, the categories, the 2024 catalog and the current cycle."""
    counts = seed(date.today())
    click.echo(", ".join(f"{count} {what} added" for what, count in counts.items()))


@click.command("demo-accounts")
def demo_accounts_command() -> None:
    """Create (or give new passwords to) the demo accounts and print their sign-in details."""
    town = find_municipality(DEMO_TOWN)
    if town is None:
        raise click.ClickException("run 'flask --app sct_forms seed' first")
    lines = []
    for email, name, role in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user, password = create_user(
                email=email,
                name=name,
                role=role,
                municipality=town if role in TOWN_ROLES else None,
            )
        else:
            password = reset_password(user)
        lines.append(f"  {role:<9} {email:<32} {password}")
    db.session.commit()
    click.echo(f"Demo accounts (town: {DEMO_TOWN}):")
    click.echo("\n".join(lines))


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True)
@click.option("--town", default=None, help="Town name, for staff (and a coach's first town).")
@click.option("--language", type=click.Choice(["en", "es"]), default="en")
@click.option("--prompt-password", is_flag=True, help="Type the password instead of generating it.")
def create_user_command(
    email: str, name: str, role: str, town: str | None, language: str, prompt_password: bool
) -> None:
    """Create an account. The generated password is printed once."""
    municipality = None
    if town:
        municipality = find_municipality(town)
        if municipality is None:
            raise click.ClickException(f"no town named {town!r}")
    password = (
        click.prompt(
            "Password",
            hide_input=True,
            confirmation_prompt=True,
            value_proc=_password_meeting_policy(email, name, town),
        )
        if prompt_password
        else None
    )
    try:
        user, password = create_user(
            email=email,
            name=name,
            role=role,
            municipality=municipality,
            password=password,
            language=language,
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role} account {user.email}.")
    if not prompt_password:
        click.echo(f"Password (shown once): {password}")


def _password_meeting_policy(email: str, name: str, town: str | None):  # noqa: ANN202
    """A prompt check: a refused password is explained and asked for again."""

    def check(value: str) -> str:
        problem = password_error(value, personal_words(email, name, town))
        if problem:
            raise click.BadParameter(problem)
        return value

    return check


@click.command("invite-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True)
@click.option("--town", default=None, help="Town name, for staff (and a coach's first town).")
@click.option("--language", type=click.Choice(["en", "es"]), default="en")
def invite_user_command(email: str, name: str, role: str, town: str | None, language: str) -> None:
    """Create an account and email its owner a link to choose a password.

    Inviting again someone who has not accepted yet sends a new link; the old one stops working.
    """
    municipality = None
    if town:
        municipality = find_municipality(town)
        if municipality is None:
            raise click.ClickException(f"no town named {town!r}")
    try:
        user = invite_user(email, name, role, municipality, None, language=language)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    days = current_app.config["INVITATION_DAYS"]
    click.echo(f"Invited {user.email} as {user.role}; the link in the email works for {days} days.")
    click.echo(_deliver_now())


def _deliver_now() -> str:
    """Send the invitation before the command ends, unless MAIL_DELIVERY leaves it to cron."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return "No MAIL_SERVER is set: the email waits in the outbox until one is."
    if config.get("MAIL_DELIVERY") == "off":
        return "The email waits in the outbox for 'flask deliver-outbox'."
    counts = deliver_pending()
    if counts["failed"] or counts["skipped"]:
        return "The email could not be sent yet; 'flask deliver-outbox' retries it."
    return "The email was sent."


@click.command("import-actions")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", "catalog_year", type=int, required=True, help="Catalog year, e.g. 2026.")
def import_actions_command(csv_file: Path, catalog_year: int) -> None:
    """Import an action catalog (columns: number,title,category_number,required_for)."""
    try:
        with csv_file.open(encoding="utf-8-sig", newline="") as stream:
            added, updated = import_actions(stream, catalog_year)
    except CatalogImportError as error:
        db.session.rollback()
        raise click.ClickException(
            f"nothing was imported from {csv_file.name}:\n" + "\n".join(error.problems)
        ) from error
    except UnicodeDecodeError as error:
        db.session.rollback()
        raise click.ClickException(f"{csv_file.name} is not UTF-8 text") from error
    db.session.commit()
    click.echo(f"Catalog {catalog_year}: {added} actions added, {updated} updated.")
