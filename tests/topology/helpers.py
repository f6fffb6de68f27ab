"""The topology test's machinery: the engines, the app's processes, and a person in a browser.

:class:`Topology` sets up a PostgreSQL database and a Redis database of its own, a SeaweedFS S3
server, and starts two gunicorn app servers (and, when asked, one queue worker), each process
with its own instance folder; leaving it stops every process it started and removes the
database, even on failure (and then prints every process's log). :class:`Person` is one
browser: a cookie jar shared by both servers, as behind a load balancer, and form posts with the
page's CSRF token.
"""

from __future__ import annotations

import hashlib
import http.client
import http.cookiejar
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType

import psycopg
import redis
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from sct_forms import jobs
from sct_forms.config import database_uri
from sct_forms.domain.roles import Role
from tests.seaweedfs import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedFS, start_seaweedfs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = PROJECT_ROOT / ".venv" / "bin"
# The engines the machine runs (CI and development): PostgreSQL with trust authentication and
# Redis. The test makes a database of its own on the first and uses one Redis database number.
POSTGRES_URL = os.environ.get("SCT_TOPOLOGY_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("SCT_TOPOLOGY_REDIS_URL", "redis://127.0.0.1:6379/7")
STORAGE_PREFIX = "topology"
HTTP_TIMEOUT = 120  # a certificate is rendered inside the approving request
LOG_TAIL_CHARACTERS = 20000
# Settings of the machine running the tests that the app's processes must not pick up.
HIDDEN_SETTINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "MAIL_SERVER",
    "QUEUE_URL",
    "STORAGE_URL",
    "STORAGE_ACCESS_KEY",
    "STORAGE_SECRET_KEY",
    "TEST_STORAGE",
    "SCT_INSTANCE_PATH",
    "BIND",
    "PORT",
    "WEB_CONCURRENCY",
    "LOG_FORMAT",
)


def free_ports(count: int) -> list[int]:
    """Free ports below the range the kernel gives outgoing connections (32768 and up), so that
    a connection opened meanwhile cannot take one before a server binds it; all held until all
    are found, so no two are the same."""
    held: list[socket.socket] = []
    try:
        while len(held) < count:
            probe = socket.socket()
            try:
                probe.bind(("127.0.0.1", random.randint(20000, 32000)))
            except OSError:
                probe.close()
                continue
            held.append(probe)
        return [probe.getsockname()[1] for probe in held]
    finally:
        for probe in held:
            probe.close()


def refuses_connections(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        return True
    return False


# --- processes ----------------------------------------------------------------------------------


@dataclass
class AppProcess:
    """One process of the app (and its children), in a process group of its own; its output
    goes to a log file."""

    name: str
    process: subprocess.Popen
    log_path: Path
    url: str = ""

    @classmethod
    def start(
        cls, name: str, command: list[str], env: dict[str, str], log_path: Path, url: str = ""
    ) -> AppProcess:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, process, log_path, url)

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and its children at once, as a machine that loses power."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self, stop_signal: int = signal.SIGTERM) -> None:
        if not self.running():
            return
        try:
            os.killpg(self.process.pid, stop_signal)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        # WeasyPrint's progress lines (several per page rendered) drown everything else.
        return "".join(
            line for line in text.splitlines(keepends=True) if "weasyprint.progress" not in line
        )

    def wait_until_healthy(self, timeout: float = 120) -> dict:
        """Wait for /healthz to answer 200 (database, queue and storage all answer)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} stopped while starting:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                with error:
                    last = error.read().decode(errors="replace")
            except OSError as error:
                last = repr(error)
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become healthy: {last}")


@dataclass
class Topology:
    """Everything the test runs on; a context manager that cleans up after itself."""

    folder: Path
    database_name: str = field(default_factory=lambda: f"sct_topology_test_{secrets.token_hex(4)}")
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    seaweedfs: SeaweedFS | None = None
    processes: list[AppProcess] = field(default_factory=list)
    setup_output: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    database_created: bool = False
    server_a: AppProcess | None = None
    server_b: AppProcess | None = None
    worker: AppProcess | None = None
    instance_folders: dict[str, Path] = field(default_factory=dict)
    engine: Engine | None = None

    # -- the engines

    @property
    def database_url(self) -> str:
        return f"{POSTGRES_URL}/{self.database_name}"

    def _maintenance(self) -> psycopg.Connection:
        return psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True, connect_timeout=5)

    def _create_database(self) -> None:
        with self._maintenance() as connection:
            connection.execute(f'CREATE DATABASE "{self.database_name}"')
        self.database_created = True

    def _drop_database(self) -> None:
        if self.database_created:
            with self._maintenance() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
            self.database_created = False

    @staticmethod
    def _flush_redis() -> None:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()

    def session(self) -> Session:
        """A database session to read what the servers wrote (for the test's checks only)."""
        if self.engine is None:
            self.engine = create_engine(database_uri(self.database_url))
        return Session(self.engine)

    def stored_keys(self) -> set[str]:
        """The keys of every object the app stored in the bucket, without the app's prefix."""
        assert self.seaweedfs is not None
        paginator = self.seaweedfs.client().get_paginator("list_objects_v2")
        prefix = f"{STORAGE_PREFIX}/"
        return {
            stored["Key"][len(prefix) :]
            for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix)
            for stored in page.get("Contents", [])
        }

    def stored(self, key: str) -> bytes:
        assert self.seaweedfs is not None
        answer = self.seaweedfs.client().get_object(Bucket=BUCKET, Key=f"{STORAGE_PREFIX}/{key}")
        return answer["Body"].read()

    def local_files(self) -> list[Path]:
        """Files in the processes' instance folders (none: everything shared is elsewhere)."""
        return sorted(
            path
            for folder in self.instance_folders.values()
            for path in folder.rglob("*")
            if path.is_file()
        )

    # -- the app's processes

    def _instance(self, name: str) -> Path:
        folder = self.folder / f"instance-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        self.instance_folders[name] = folder
        return folder

    def environment(self, name: str, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in HIDDEN_SETTINGS}
        assert self.seaweedfs is not None
        env.update(
            SECRET_KEY=self.secret_key,
            DATABASE_URL=self.database_url,
            QUEUE_URL=REDIS_URL,
            STORAGE_URL=self.seaweedfs.storage_url(STORAGE_PREFIX),
            STORAGE_ACCESS_KEY=ACCESS_KEY,
            STORAGE_SECRET_KEY=SECRET_KEY,
            SCT_INSTANCE_PATH=str(self._instance(name)),
            MAIL_DELIVERY="off",  # emails wait in the outbox: no mail server here
            SCT_ENV="production",  # as deployed: JSON log lines, with an access line per request
            **extra,
        )
        return env

    def _flask(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "sct_forms", *args],
            cwd=PROJECT_ROOT,
            env=self.environment("setup"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.setup_output.append(f"$ flask {' '.join(args)}\n{result.stdout}{result.stderr}")
        assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def _set_up_database(self) -> None:
        self._flask("db", "upgrade")
        self._flask("seed")
        accounts = self._flask("demo-accounts")
        # "  staff     staff@demo.sct-forms.test        <password>"
        for role, email, password in re.findall(
            r"^\s+(\w+)\s+(\S+@\S+)\s+(.+?)\s*$", accounts, re.M
        ):
            self.passwords[role] = password
            self.passwords[email] = password

    def _start_server(self, name: str, port: int) -> AppProcess:
        env = self.environment(name, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "sct_forms:create_app()"]
        server = AppProcess.start(
            name, command, env, self.folder / f"{name}.log", url=f"http://127.0.0.1:{port}"
        )
        self.processes.append(server)
        return server

    def start_worker(self) -> AppProcess:
        """Start the queue worker (the test does, once it has queued work for it)."""
        command = [str(BIN / "flask"), "--app", "sct_forms", "worker"]
        self.worker = AppProcess.start(
            "worker", command, self.environment("worker"), self.folder / "worker.log"
        )
        self.processes.append(self.worker)
        return self.worker

    @staticmethod
    def queued_tasks() -> int:
        """How many tasks wait in the Redis queue the app's processes share."""
        storage_class, options = jobs.storage_for(REDIS_URL)
        storage = storage_class(jobs.QUEUE_NAME, **options)
        try:
            return storage.queue_size()
        finally:
            storage.conn.close()
            storage.pool.disconnect()

    def start(self) -> Topology:
        self._flush_redis()
        self._create_database()
        self.seaweedfs = start_seaweedfs(self.folder / "seaweedfs")
        self._set_up_database()
        port_a, port_b = free_ports(2)
        self.server_a = self._start_server("server-a", port_a)
        self.server_b = self._start_server("server-b", port_b)
        for server in (self.server_a, self.server_b):
            health = server.wait_until_healthy()
            assert health["status"] == "ok", health
        return self

    def password(self, role: Role) -> str:
        return self.passwords[str(role)]

    # -- cleaning up

    def logs(self) -> str:
        parts = [*self.setup_output]
        for process in self.processes:
            state = "running" if process.running() else f"exit {process.process.returncode}"
            parts.append(
                f"===== {process.name} ({state}) log, last part =====\n"
                + process.log()[-LOG_TAIL_CHARACTERS:]
            )
        return "\n".join(parts)

    def __enter__(self) -> Topology:
        try:
            return self.start()
        except BaseException:
            self.__exit__(None, None, None, failed=True)
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
        failed: bool = False,
    ) -> None:
        try:
            for process in reversed(self.processes):
                # gunicorn's quick shutdown; the worker stops at once on SIGTERM
                process.stop(signal.SIGTERM if process is self.worker else signal.SIGQUIT)
            if failed or error is not None:
                print(self.logs())
        finally:
            try:
                if self.seaweedfs is not None:
                    self.seaweedfs.stop()
            finally:
                try:
                    if self.engine is not None:
                        self.engine.dispose()
                    self._drop_database()
                finally:
                    self._flush_redis()


# --- a person in a browser ----------------------------------------------------------------------


@dataclass
class Form:
    """A form of a page: where it posts and what it sends as it stands (buttons aside)."""

    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def values(self, changes: dict[str, str | list[str]] | None = None) -> list[tuple[str, str]]:
        """The fields with ``changes``: each named field gets the given value(s) instead."""
        changes = changes or {}
        kept = [(name, value) for name, value in self.fields if name not in changes]
        for name, value in changes.items():
            kept += [(name, item) for item in (value if isinstance(value, list) else [value])]
        return kept


class _FormParser(HTMLParser):
    """The forms of a page and the values their controls hold (what a browser would send)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "form":
            method = (found.get("method") or "get").lower()
            self._form = Form(found.get("action") or "", method)
            self.forms.append(self._form)
        elif self._form is None or not name:
            return
        elif tag == "input":
            kind = (found.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            value = found["value"] if found.get("value") is not None else default
            self._form.fields.append((name, value))
        elif tag == "textarea":
            self._textarea = (name, [])
        elif tag == "select":
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._select[1].append((found.get("value") or "", "selected" in found))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, parts = self._textarea
            text = "".join(parts)
            self._form.fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options = self._select
            chosen = [value for value, selected in options if selected] or [
                value for value, _ in options[:1]
            ]
            self._form.fields += [(name, value) for value in chosen]
            self._select = None


@dataclass
class Page:
    """One answer of a server."""

    status: int
    url: str
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        """Where a redirect leads, as a path on the same server."""
        assert 300 <= self.status < 400, f"not a redirect: {self.status} from {self.url}"
        parts = urllib.parse.urlsplit(self.headers["Location"])
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def forms(self) -> list[Form]:
        parser = _FormParser()
        parser.feed(self.text)
        parser.close()
        return parser.forms

    def form(self, action: str) -> Form:
        """The page's form that posts to ``action`` (a path)."""
        found = [
            form
            for form in self.forms()
            if form.method == "post" and urllib.parse.urlsplit(form.action).path == action
        ]
        assert found, f"no form posting to {action} on {self.url} ({self.status})"
        return found[0]

    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect comes back as it is: the test chooses which server the next request goes to,
    as a load balancer would."""

    def redirect_request(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        return None


def multipart(fields: dict[str, str], file_name: str, data: bytes, mime_type: str):  # noqa: ANN201
    """A multipart/form-data body with the fields and one file (as "file"); and its type."""
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: {mime_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class InFlight:
    """A POST whose headers and first part of the body have reached a server, the rest not."""

    def __init__(self, url: str, path: str, headers: dict[str, str], body: bytes) -> None:
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.connection.putrequest("POST", path)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.connection.putheader(name, value)
        self.connection.endheaders()
        self.connection.send(body[: len(body) // 2])
        self.rest = body[len(body) // 2 :]

    def answer(self) -> int | None:
        """Send the rest and read the answer: its status, or None when none came."""
        try:
            self.connection.send(self.rest)
            return self.connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            self.connection.close()


class Person:
    """Someone in one browser: one cookie jar for both servers (the same host, two ports)."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def request(
        self,
        server: AppProcess,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        request = urllib.request.Request(server.url + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as response:
                return Page(response.status, server.url + path, response.headers, response.read())
        except urllib.error.HTTPError as answer:  # 3xx, 4xx and 5xx: an answer all the same
            with answer:
                return Page(answer.code, server.url + path, answer.headers, answer.read())

    def get(self, server: AppProcess, path: str, headers: dict[str, str] | None = None) -> Page:
        return self.request(server, path, headers=headers)

    def post(self, server: AppProcess, path: str, fields: list[tuple[str, str]] | dict) -> Page:
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        content_type = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request(server, path, body, content_type)

    def submit(
        self,
        server: AppProcess,
        page: Page,
        action: str,
        changes: dict[str, str | list[str]] | None = None,
    ) -> Page:
        """Fill in the form of ``page`` that posts to ``action`` and send it to ``server``."""
        return self.post(server, action, page.form(action).values(changes))

    def upload(
        self,
        server: AppProcess,
        page: Page,
        action: str,
        fields: dict[str, str],
        upload: tuple[str, bytes, str],
    ) -> Page:
        """Send the upload form of ``page``: its token, ``fields`` and a (name, data, type) file."""
        token = dict(page.form(action).fields)["csrf_token"]
        body, content_type = multipart({"csrf_token": token, **fields}, *upload)
        return self.request(server, action, body, {"Content-Type": content_type})

    def start_posting(
        self, server: AppProcess, action: str, body: bytes, content_type: str
    ) -> InFlight:
        """Begin a POST and stop halfway through its body: the request is in flight."""
        request = urllib.request.Request(server.url + action, method="POST")
        self.cookies.add_cookie_header(request)
        headers = {"Content-Type": content_type, "Cookie": request.get_header("Cookie") or ""}
        return InFlight(server.url, action, headers, body)

    def sign_in(self, server: AppProcess, email: str, password: str) -> None:
        page = self.get(server, "/sign-in")
        answer = self.submit(server, page, "/sign-in", {"email": email, "password": password})
        assert answer.status == 303, f"signing in as {email}: {answer.status}\n{answer.text}"
