"""Test apps hash passwords cheaply; real apps never do, and real hashes verify everywhere."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from sct_forms import create_app
from sct_forms.auth.passwords import hash_password, verify_password

PASSWORD = "a long enough passphrase for this test"


def test_a_test_app_hashes_with_argon2id_at_its_cheapest(app):
    parameters = extract_parameters(hash_password(PASSWORD))
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (1, 8, 1)


def test_a_password_hashed_with_production_parameters_verifies_in_a_test_app(app):
    real = PasswordHasher().hash(PASSWORD)
    assert verify_password(real, PASSWORD)
    assert not verify_password(real, PASSWORD + "!")


def test_outside_an_app_passwords_get_production_parameters():
    hashed = hash_password(PASSWORD)
    assert extract_parameters(hashed).memory_cost == PasswordHasher().memory_cost
    assert verify_password(hashed, PASSWORD)


def test_the_fast_setting_is_ignored_by_an_app_that_is_not_testing(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": False,
            "SECRET_KEY": "not-the-default",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "PASSWORD_HASH_FAST_FOR_TESTS": True,
        }
    )
    with app.app_context():
        hashed = hash_password(PASSWORD)
    assert extract_parameters(hashed).memory_cost == PasswordHasher().memory_cost
    assert verify_password(hashed, PASSWORD)
