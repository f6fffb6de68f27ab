"""Password hashing with Argon2id, generated passwords, and accounts without a password yet."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from sct_forms.auth.password_policy import MIN_LENGTH, assess

# Argon2id with argon2-cffi's parameters (RFC 9106, low memory): every real account.
_HASHER = PasswordHasher()
# Argon2id at its cheapest, for test apps only (TESTING and PASSWORD_HASH_FAST_FOR_TESTS):
# the suite signs in hundreds of times. A hash keeps its own parameters, so each hasher
# verifies the other's hashes, and real hashes still verify in tests.
_FAST_TEST_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)

# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASHES = {
    hasher: hasher.hash(secrets.token_urlsafe(16)) for hasher in (_HASHER, _FAST_TEST_HASHER)
}

# An invited account has no password until its owner sets one. Its hash column holds this
# marker and random text: no password verifies against it (it is no Argon2 hash).
_UNUSABLE_PREFIX = "!"

MIN_PASSWORD_LENGTH = MIN_LENGTH


def _hasher() -> PasswordHasher:
    """The production hasher, unless a test app asked for the cheap one."""
    if (
        has_app_context()
        and current_app.testing
        and current_app.config.get("PASSWORD_HASH_FAST_FOR_TESTS")
    ):
        return _FAST_TEST_HASHER
    return _HASHER


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def unusable_password_hash() -> str:
    """A value for the hash column that no password matches."""
    return _UNUSABLE_PREFIX + secrets.token_hex(16)


def has_usable_password(password_hash: str | None) -> bool:
    return bool(password_hash) and not password_hash.startswith(_UNUSABLE_PREFIX)


def verify_password(password_hash: str | None, password: str) -> bool:
    usable = has_usable_password(password_hash)
    try:
        # An unknown e-mail or an account without a password costs the same as a wrong password.
        hasher = _hasher()
        checked = password_hash if usable else _DUMMY_HASHES[hasher]
        return hasher.verify(checked, password) and usable
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password that is easy to read out: four groups of five characters.

    About 99 bits of randomness; the rare draw the policy would refuse (a group that spells a
    word or repeats a character) is drawn again, so every generated password passes the policy.
    """
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    while True:
        password = "-".join(
            "".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4)
        )
        if assess(password) is None:
            return password
