"""A small OpenID Connect provider for the tests, on 127.0.0.1 in a thread.

It speaks the authorization code flow as Okta or Keycloak do: discovery, JWKS,
authorize (signs in whoever the test says is at the keyboard), token (checks
the client's secret, the code, the redirect URI and PKCE) and userinfo. ID
tokens are real RS256 JWTs signed with a key made for the run (joserfc), so
allauth's own code does everything it does against a real provider: nothing
of allauth is mocked.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Person:
    sub: str
    email: str
    given_name: str = ""
    family_name: str = ""
    email_verified: bool = True


@dataclass
class Provider:
    client_id: str
    client_secret: str
    person: Person | None = None
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key-1"}))
    codes: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    def claims(self, person: Person) -> dict:
        return {
            "sub": person.sub,
            "email": person.email,
            "email_verified": person.email_verified,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "name": f"{person.given_name} {person.family_name}".strip(),
        }

    def id_token(self, person: Person, nonce: str | None) -> str:
        now = int(time.time())
        payload = {
            **self.claims(person),
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
        }
        if nonce:
            payload["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key-1"}, payload, self.key)


def _handler(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            provider.requests.append(("GET", url.path, query))
            if url.path == "/.well-known/openid-configuration":
                return self._json(200, provider.discovery())
            if url.path == "/jwks":
                return self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            if url.path == "/authorize":
                return self._authorize(query)
            if url.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                person = provider.tokens.get(token)
                if person is None:
                    return self._json(401, {"error": "invalid_token"})
                return self._json(200, provider.claims(person))
            return self._json(404, {"error": "not_found"})

        def _authorize(self, query: dict) -> None:
            if query.get("client_id") != provider.client_id or query.get("response_type") != "code":
                return self._json(400, {"error": "invalid_request"})
            if provider.person is None:
                return self._json(400, {"error": "login_required"})
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {
                "person": provider.person,
                "redirect_uri": query["redirect_uri"],
                "nonce": query.get("nonce"),
                "challenge": query.get("code_challenge"),
            }
            target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.requests.append(
                ("POST", self.path, {k: v for k, v in form.items() if k != "client_secret"})
            )
            if self.path != "/token":
                return self._json(404, {"error": "not_found"})
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            basic = self.headers.get("Authorization", "")
            if basic.startswith("Basic "):
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            if client_id != provider.client_id or client_secret != provider.client_secret:
                return self._json(401, {"error": "invalid_client"})
            grant = provider.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return self._json(400, {"error": "invalid_grant"})
            if grant["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
            access = secrets.token_urlsafe(24)
            provider.tokens[access] = grant["person"]
            return self._json(
                200,
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(grant["person"], grant["nonce"]),
                },
            )

    return Handler


def start(client_id: str, client_secret: str) -> Provider:
    provider = Provider(client_id=client_id, client_secret=client_secret)
    provider.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    threading.Thread(target=provider.server.serve_forever, daemon=True).start()
    return provider


def stop(provider: Provider) -> None:
    provider.server.shutdown()
    provider.server.server_close()
