"""Start the test identity and directory servers on 127.0.0.1, and drive their login pages.

Each server runs as its own process (started once per test session by the fixtures in
tests/identity/servers/fixtures.py). `ProviderBrowser` plays the person at the provider: it
follows redirects, fills the provider's login form, and stops when the provider sends the
browser back to Agora.
"""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 60  # seconds for a server to start answering (not a test assertion)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server process whose `ready_url` answers once it is up; its log is kept for errors."""

    def __init__(self, name: str, argv: list[str], *, env: dict, log_path: Path, ready_url: str):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.ready_url = ready_url
        self.process: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                requests.get(self.ready_url, timeout=2)
                return self
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not start:\n{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None) is not None:
            self._log.close()


def child_env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OIDC_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,testserver"
    return env


def signing_material(directory: Path, common_name: str) -> tuple[Path, Path]:
    """A fresh RSA key and a self-signed certificate (PEM files) for a test provider."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path = directory / f"{common_name}.key"
    cert_path = directory / f"{common_name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


# --- playing the person at the provider ---------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    password_field: str | None = None
    text_fields: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                Form(action=attrs.get("action") or "", method=(attrs.get("method") or "get"))
            )
        elif tag == "input" and self.forms and attrs.get("name"):
            form = self.forms[-1]
            kind = (attrs.get("type") or "text").lower()
            form.fields[attrs["name"]] = attrs.get("value") or ""
            if kind == "password":
                form.password_field = attrs["name"]
            elif kind in {"text", "email"}:
                form.text_fields.append(attrs["name"])


def parse_forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


class ProviderBrowser:
    """A cookie-keeping HTTP client that signs in at a provider and stops at Agora's door."""

    def __init__(self, agora_prefix: str = "http://testserver/"):
        self.session = requests.Session()
        self.session.trust_env = False
        self.agora_prefix = agora_prefix
        self.last_page = ""

    def sign_in(self, url: str, username: str, password: str, *, max_steps: int = 15) -> str:
        """Follow `url` through the provider's login until it redirects back to Agora."""
        method, data = "get", None
        for _step in range(max_steps):
            response = self.session.request(method, url, data=data, allow_redirects=False)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                method, data = "get", None
                if url.startswith(self.agora_prefix):
                    return url
                continue
            self.last_page = response.text
            forms = [f for f in parse_forms(response.text) if f.password_field]
            if response.status_code != 200 or not forms:
                raise AssertionError(
                    f"unexpected page at {url} ({response.status_code}):\n{response.text[:2000]}"
                )
            form = forms[0]
            fields = dict(form.fields)
            fields[form.text_fields[0]] = username
            fields[form.password_field] = password
            url = urljoin(url, form.action or url)
            method, data = form.method.lower(), fields
        raise AssertionError(f"no redirect back to Agora after {max_steps} steps")

    def post_saml_login(self, url: str, username: str, password: str) -> dict[str, str]:
        """SAML: sign in and return the auto-posting form's fields (SAMLResponse, RelayState)
        and its action (the service provider's ACS URL) under "action"."""
        response = self.session.get(url, allow_redirects=True)
        form = next(f for f in parse_forms(response.text) if f.password_field)
        fields = dict(form.fields)
        fields[form.text_fields[0]] = username
        fields[form.password_field] = password
        answer = self.session.post(urljoin(response.url, form.action), data=fields)
        self.last_page = answer.text
        posted = next(f for f in parse_forms(answer.text) if "SAMLResponse" in f.fields)
        return {**posted.fields, "action": posted.action}
