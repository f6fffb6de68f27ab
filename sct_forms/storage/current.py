"""The storage the running app's settings name, made once per app and settings."""

from __future__ import annotations

from flask import current_app

from sct_forms.storage.base import Storage
from sct_forms.storage.settings import storage_from_settings

_SETTING_KEYS = ("STORAGE_URL", "STORAGE_ACCESS_KEY", "STORAGE_SECRET_KEY")


def current_storage() -> Storage:
    """The app's :class:`Storage` (the instance folder unless ``STORAGE_URL`` names another).

    Made again when the settings or the instance folder change, as between tests.
    """
    app = current_app
    key = (app.instance_path, *(app.config.get(name) or "" for name in _SETTING_KEYS))
    made = app.extensions.get("storage")
    if made is None or made[0] != key:
        made = (key, storage_from_settings(app.config, app.instance_path))
        app.extensions["storage"] = made
    return made[1]
