"""A SAML 2.0 identity provider for Agora's sign-in tests, built on pysaml2, on 127.0.0.1.

pysaml2 is an independent implementation from the one Agora uses (python3-saml through
django-allauth), and signs with the xmlsec1 program. Run as a process:

    python -m tests.identity.servers.saml_idp PORT CONFIG.json

CONFIG.json: {"key_file", "cert_file", "sp_entity_id", "sp_acs_urls": [...],
              "users": {login: {"password": ..., "uid": ..., "attributes": {name: value}}}}
Attributes use LDAP names (mail, givenName, sn, displayName, o, ou, title, employeeNumber,
uid); pysaml2 sends them under their urn:oid names, as most identity providers do.

Pages: GET /sso/redirect (the AuthnRequest) shows a login form; POST /sso/login answers the
service provider with a signed Response through an auto-posting form (HTTP-POST binding).
Test-only control routes: POST /control/users/<login> (merge attributes), POST /control/mode
({"sign": false} sends an unsigned response).
"""

from __future__ import annotations

import html
import json
import shutil
import sys
import threading
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

LOCK = threading.Lock()


def sp_metadata(entity_id: str, acs_urls: list[str]) -> str:
    services = "".join(
        f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" '
        f'Location="{html.escape(url)}" index="{index}"/>'
        for index, url in enumerate(acs_urls)
    )
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'entityID="{html.escape(entity_id)}">'
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" '
        'AuthnRequestsSigned="false" WantAssertionsSigned="true">'
        f"<md:NameIDFormat>{NAMEID_FORMAT_PERSISTENT}</md:NameIDFormat>"
        f"{services}</md:SPSSODescriptor></md:EntityDescriptor>"
    )


class IdentityProvider:
    def __init__(self, base_url: str, config: dict):
        self.base_url = base_url
        self.users = config["users"]
        self.sign = True
        idp_config = IdPConfig()
        idp_config.load(
            {
                "entityid": f"{base_url}/metadata",
                "service": {
                    "idp": {
                        "name": "Agora test identity provider",
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{base_url}/sso/redirect", BINDING_HTTP_REDIRECT)
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": False,
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 15},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_URI,
                            }
                        },
                    }
                },
                "key_file": config["key_file"],
                "cert_file": config["cert_file"],
                "metadata": {
                    "inline": [sp_metadata(config["sp_entity_id"], config["sp_acs_urls"])]
                },
                "xmlsec_binary": shutil.which("xmlsec1"),
                "delete_tmpfiles": True,
            }
        )
        self.server = Server(config=idp_config)

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/sso/redirect":
                query = parse_qs(environ.get("QUERY_STRING", ""))
                return self._login_form(start_response, query)
            if method == "POST" and path == "/sso/login":
                return self._login(start_response, self._form(environ))
            if method == "POST" and path.startswith("/control/"):
                return self._control(start_response, path, self._body(environ))
            if method == "GET" and path == "/metadata":
                return self._respond(start_response, "200 OK", "ok", "text/plain")
        except Exception as exc:  # noqa: BLE001  (a test server: show the error, keep running)
            return self._respond(start_response, "400 Bad Request", repr(exc), "text/plain")
        return self._respond(start_response, "404 Not Found", "not found", "text/plain")

    @staticmethod
    def _body(environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return environ["wsgi.input"].read(length) if length else b""

    def _form(self, environ) -> dict[str, str]:
        parsed = parse_qs(self._body(environ).decode())
        return {key: values[0] for key, values in parsed.items()}

    @staticmethod
    def _respond(start_response, status, body: str, content_type="text/html; charset=utf-8"):
        data = body.encode()
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    def _login_form(self, start_response, query):
        saml_request = query["SAMLRequest"][0]
        relay_state = query.get("RelayState", [""])[0]
        self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)  # refuse garbage
        page = (
            "<!DOCTYPE html><html><head><title>Agency sign-in</title></head><body>"
            "<h1>Agency sign-in (SAML)</h1>"
            '<form method="post" action="/sso/login">'
            f'<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
            '<label for="username">Username</label>'
            '<input id="username" name="username" autocomplete="username">'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password">'
            '<button type="submit">Sign in</button></form></body></html>'
        )
        return self._respond(start_response, "200 OK", page)

    def _login(self, start_response, form):
        with LOCK:
            user = self.users.get(form.get("username", ""))
            sign = self.sign
        if user is None or user["password"] != form.get("password"):
            return self._respond(start_response, "401 Unauthorized", "<p>Wrong password</p>")
        request = self.server.parse_authn_request(form["SAMLRequest"], BINDING_HTTP_REDIRECT)
        args = self.server.response_args(request.message, [BINDING_HTTP_POST])
        identity = {name: [value] for name, value in user["attributes"].items()}
        name_id = NameID(
            format=NAMEID_FORMAT_PERSISTENT,
            text=user["uid"],
            sp_name_qualifier=args["sp_entity_id"],
        )
        response = self.server.create_authn_response(
            identity,
            in_response_to=args["in_response_to"],
            destination=args["destination"],
            sp_entity_id=args["sp_entity_id"],
            name_id=name_id,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_response=sign,
            sign_assertion=sign,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        http_args = self.server.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            args["destination"],
            form.get("RelayState", ""),
            response=True,
        )
        return self._respond(start_response, "200 OK", http_args["data"])

    def _control(self, start_response, path, body: bytes):
        data = json.loads(body or b"{}")
        with LOCK:
            if path == "/control/mode":
                self.sign = bool(data.get("sign", True))
            elif path.startswith("/control/users/"):
                login = path.removeprefix("/control/users/")
                self.users[login]["attributes"].update(data)
        return self._respond(start_response, "200 OK", '{"ok": true}', "application/json")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def main() -> None:
    port = int(sys.argv[1])
    with open(sys.argv[2]) as handle:
        config = json.load(handle)
    app = IdentityProvider(f"http://127.0.0.1:{port}", config)
    with make_server(
        "127.0.0.1", port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    ) as httpd:
        print(f"SAML identity provider on http://127.0.0.1:{port}", flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
