"""Where the app keeps stored files: a local folder or an S3 bucket, behind one interface.

Evidence (with its print copies), packets and certificates are read and written only through
:func:`current_storage`; record files are written with :class:`PendingWrites`.
"""

from sct_forms.storage.base import (
    AREAS,
    BadStorageName,
    Storage,
    StorageUnavailable,
    StoredEntry,
    StoredFileMissing,
    Unfinished,
)
from sct_forms.storage.current import current_storage
from sct_forms.storage.local import LocalStorage
from sct_forms.storage.pending import PendingWrites
from sct_forms.storage.settings import storage_from_settings

__all__ = [
    "AREAS",
    "BadStorageName",
    "LocalStorage",
    "PendingWrites",
    "Storage",
    "StorageUnavailable",
    "StoredEntry",
    "StoredFileMissing",
    "Unfinished",
    "current_storage",
    "storage_from_settings",
]
