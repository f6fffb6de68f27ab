"""Reference data: municipalities, the action catalog and certification cycles."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.domain.action_rules import TrainingRule, parse_training_rule
from sct_forms.domain.tiers import TierRule, parse_tier_rules
from sct_forms.extensions import db
from sct_forms.i18n import get_locale_language
from sct_forms.models.types import UTCDateTime


class Municipality(db.Model):
    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    county: Mapped[str] = mapped_column(String(40))
    planning_region: Mapped[str] = mapped_column(String(120))
    council_of_governments: Mapped[str] = mapped_column(String(160))
    fips: Mapped[str] = mapped_column(String(12), unique=True)

    def __repr__(self) -> str:
        return f"<Municipality {self.name}>"


class Category(db.Model):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(160))


class Action(db.Model):
    """One action of the catalog of a given year, such as 3.4 in the 2024 catalog."""

    __tablename__ = "action"
    __table_args__ = (UniqueConstraint("catalog_year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_year: Mapped[int] = mapped_column(index=True)
    number: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    # Comma-separated tiers for which the catalog marks the action as required.
    required_for: Mapped[str] = mapped_column(String(40), default="")
    # The title in Spanish, when the program has given one; English is shown otherwise.
    title_es: Mapped[str | None] = mapped_column(String(200))
    # A retired action stays for the history of the towns that used it, but is no longer offered.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    category: Mapped[Category] = relationship()

    @property
    def label(self) -> str:
        """The number and title in the language of the page (or email, or PDF) being made."""
        return f"{self.number} {self.display_title}"

    @property
    def display_title(self) -> str:
        """The Spanish title where the page speaks Spanish and the program has given one."""
        if self.title_es and get_locale_language() == "es":
            return self.title_es
        return self.title

    @property
    def sort_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.number.split("."))


class Cycle(db.Model):
    """A certification cycle (submission window) with its own dates and tier rules."""

    __tablename__ = "cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    opens_on: Mapped[date]
    submission_deadline: Mapped[date]
    lookback_start: Mapped[date]
    catalog_year: Mapped[int]
    tier_rules_data: Mapped[list] = mapped_column("tier_rules", JSON)
    # What counts for action 1.2 (delegation roles, sessions); None: the program's default rule.
    training_rule_data: Mapped[dict | None] = mapped_column("training_rule", JSON)
    # When set, decisions are announced together: certificates are held until an administrator
    # releases them, on or after this date. None: a certificate is issued at the decision.
    release_on: Mapped[date | None]
    certificates_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificates_released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    @property
    def tier_rules(self) -> list[TierRule]:
        return parse_tier_rules(self.tier_rules_data)

    @property
    def training_rule(self) -> TrainingRule:
        return parse_training_rule(self.training_rule_data)

    @property
    def holds_certificates(self) -> bool:
        """Whether certificates wait for the release action (a release date, not yet released)."""
        return self.release_on is not None and self.certificates_released_at is None
