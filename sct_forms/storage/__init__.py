"""Where the app keeps stored files: a local folder or an S3 bucket, behind one interface.

Not yet used by evidence, packets or certificates, which still write to the instance folder
through their own modules.
"""

from sct_forms.storage.base import AREAS, BadStorageName, Storage, StoredFileMissing
from sct_forms.storage.local import LocalStorage
from sct_forms.storage.settings import storage_from_settings

__all__ = [
    "AREAS",
    "BadStorageName",
    "LocalStorage",
    "Storage",
    "StoredFileMissing",
    "storage_from_settings",
]
