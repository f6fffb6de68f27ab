"""What makes a password acceptable, after NIST SP 800-63B: length and guessability, nothing else.

At least 12 characters and at most 200; refused when it is common or easy to guess, as judged by
the zxcvbn estimator (offline, with its own lists of common passwords, words and names) with the
person's own name and email as extra words to look for. No rules about symbols or digits, no
expiry: those make passwords worse, not better. Every refusal says why and what works instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from enum import Enum

from flask import current_app, has_request_context
from flask_babel import force_locale
from zxcvbn import zxcvbn

from sct_forms.i18n import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 200
# zxcvbn scores 0 (too guessable) to 4 (very unguessable); 3 means "safely unguessable",
# about 10^10 guesses.
MIN_SCORE = 3
# zxcvbn's matching grows quickly with length: only the start of a long password is scored. A
# strong start makes the whole strong; a weak start (say, 100 times "a") is refused anyway.
SCORED_LENGTH = 100

# A password built on the person's name, email or town needs this many other letters or digits.
PERSONAL_REST_MIN = 8

# Seen accepted by a probe of this app (issue 8); refused by name so they never return.
REFUSED_EXAMPLES = frozenset({"password1234", "aaaaaaaaaaaa", "123456789012"})

# Words anyone guessing a password for this site would try first.
SITE_WORDS = ("sustainable", "sustainablect", "sustainable ct", "sct", "sctforms", "equity")

# zxcvbn keeps the user inputs in a module-level dictionary during a call; a lock keeps two
# threads (the development server, a threaded worker) from scoring against each other's words.
_zxcvbn_lock = threading.Lock()


class PasswordProblem(Enum):
    """Why a password is refused; views turn it into words with ``problem_message``."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    PERSONAL = "personal"
    COMMON = "common"
    PATTERN = "pattern"
    GUESSABLE = "guessable"


def personal_words(*values: str | None) -> list[str]:
    """The words of a name, email address or town that a password should not be built on."""
    words: list[str] = []
    for value in values:
        if not value:
            continue
        value = value.strip().lower()
        words.append(value)
        words.extend(part for part in re.split(r"[^\w]+", value) if len(part) >= 3)
    return list(dict.fromkeys(words))


def assess(password: str, user_inputs: Iterable[str] = ()) -> PasswordProblem | None:
    """None when ``password`` is acceptable, else the main reason it is not."""
    if len(password) < MIN_LENGTH:
        return PasswordProblem.TOO_SHORT
    if len(password) > MAX_LENGTH:
        return PasswordProblem.TOO_LONG
    if password.lower() in REFUSED_EXAMPLES:
        return PasswordProblem.COMMON
    words = [*user_inputs, *SITE_WORDS]
    if _little_beyond(password, words):
        return PasswordProblem.PERSONAL
    scored = password[:SCORED_LENGTH]
    with _zxcvbn_lock:
        result = zxcvbn(scored, user_inputs=words, max_length=SCORED_LENGTH)
    if result["score"] >= MIN_SCORE:
        return None
    return _main_reason(result["sequence"])


def _little_beyond(password: str, words: list[str]) -> bool:
    """True when, without the person's own words, little of the password is left.

    zxcvbn counts each known word as at least 50 guesses, so three of them ("dana staff
    windham") already reach its score 3; a guesser who knows the person tries exactly those.
    """
    rest = password.lower()
    found = False
    for word in sorted({w.lower() for w in words if len(w) >= 3}, key=len, reverse=True):
        if word in rest:
            found = True
            rest = rest.replace(word, "")
    if not found:
        return False
    return len(re.sub(r"[\W_]+", "", rest)) < PERSONAL_REST_MIN


def _main_reason(sequence: list[dict]) -> PasswordProblem:
    dictionaries = {m.get("dictionary_name") for m in sequence if m["pattern"] == "dictionary"}
    if "user_inputs" in dictionaries:
        return PasswordProblem.PERSONAL
    if "passwords" in dictionaries:
        return PasswordProblem.COMMON
    if any(m["pattern"] in ("repeat", "sequence", "spatial") for m in sequence):
        return PasswordProblem.PATTERN
    return PasswordProblem.GUESSABLE


def problem_message(problem: PasswordProblem) -> str:
    """The refusal in plain words: what is wrong and what works instead.

    In a request, in the reader's language; elsewhere (the command line), in the default one.
    """
    if has_request_context():
        return _problem_message(problem)
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        return _problem_message(problem)


def _problem_message(problem: PasswordProblem) -> str:
    advice = _("Use a longer phrase of several unrelated words.")
    reasons = {
        PasswordProblem.TOO_SHORT: _(
            "Your password needs at least %(count)s characters.", count=MIN_LENGTH
        ),
        PasswordProblem.TOO_LONG: _(
            "Your password can have at most %(count)s characters.", count=MAX_LENGTH
        ),
        PasswordProblem.PERSONAL: _(
            "This password contains your name, email address or the site's name, which are "
            "guessed first."
        ),
        PasswordProblem.COMMON: _(
            "This password is one of the most common passwords, which are guessed first."
        ),
        PasswordProblem.PATTERN: _(
            "This password is built on a pattern, such as repeated characters, a sequence like "
            "1234 or a row of keys, which is easy to guess."
        ),
        PasswordProblem.GUESSABLE: _("This password would be easy to guess."),
    }
    if problem is PasswordProblem.TOO_LONG:
        return reasons[problem]
    return f"{reasons[problem]} {advice}"


def password_error(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """The plain-language refusal for ``password``, or None when it is acceptable."""
    problem = assess(password, user_inputs)
    return None if problem is None else problem_message(problem)
