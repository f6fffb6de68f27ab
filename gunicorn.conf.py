"""gunicorn settings for sct-forms: ``gunicorn -c gunicorn.conf.py 'sct_forms:create_app()'``.

Everything a deployment changes comes from the environment (see README, "Deployment"):
``BIND`` or ``PORT``, ``WEB_CONCURRENCY``, ``FORWARDED_ALLOW_IPS``, ``GUNICORN_TIMEOUT``, and
``LOG_FORMAT`` / ``SCT_ENV`` for the log lines.
"""

from __future__ import annotations

import multiprocessing
import os

from sct_forms.config import log_format

# Where to listen: BIND ("127.0.0.1:8000", "unix:/run/sct-forms/web.sock"), else every
# address on PORT (as platforms that set PORT expect), else local port 8000 behind a proxy.
if os.environ.get("BIND"):
    bind = [address.strip() for address in os.environ["BIND"].split(",") if address.strip()]
elif os.environ.get("PORT"):
    bind = [f"0.0.0.0:{int(os.environ['PORT'])}"]
else:
    bind = ["127.0.0.1:8000"]

# Processes, not threads: the app keeps settings per process that are not thread-safe (the job
# queue's storage, the PDF renderer's state). 2 per core plus 1, at most 8 unless
# WEB_CONCURRENCY says otherwise: each can hold a PDF being rendered in memory.
MAX_DEFAULT_WORKERS = 8
workers = int(
    os.environ.get("WEB_CONCURRENCY")
    or min(2 * multiprocessing.cpu_count() + 1, MAX_DEFAULT_WORKERS)
)
worker_class = "sync"

# A packet or certificate PDF can take a minute to render; a sync worker is busy all that time.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5  # behind a proxy that keeps connections open

# A worker is replaced after this many requests (spread out), which bounds any slow growth in
# memory from rendering large documents.
max_requests = 1000
max_requests_jitter = 100

# The proxies whose X-Forwarded-Proto gunicorn believes (for the scheme of the request). The
# app itself believes X-Forwarded-For/-Proto/-Host from TRUSTED_PROXY_COUNT proxies.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The app logs one access line per request itself (with its id, the route instead of a path
# that may hold a token, and the time taken), so gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
# gunicorn's control socket (gunicornc) is not used, and the hardened systemd unit gives no
# home folder to put it in.
control_socket_disable = True
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

if log_format(os.environ) == "json":
    # gunicorn's own lines (start, stop, a worker timing out) as JSON objects too; the app's
    # lines get their handler on the root logger when each worker builds the app.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {"json": {"()": "sct_forms.logs.JsonFormatter"}},
    }
