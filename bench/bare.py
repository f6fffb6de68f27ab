"""The bare route the autosave throughput is compared with: Flask answering a few bytes.

Served by the same gunicorn settings as the app (``bench.server``), it is what the server, the
framework and the load clients cost on their own.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"
