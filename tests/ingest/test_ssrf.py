"""`ingest/fetch.py`: URL ingest refuses what it must not fetch (SSRF), and checks the address it really
connects to.

Traffic goes to loopback only. Other ranges are refused on IP literals, and a Python audit hook
(`sys.addaudithook`, events `socket.connect` and `socket.getaddrinfo`) records every connection and
lookup the process makes, so "refused before any connection" is observed, not assumed. Loopback
servers are reached the way a user would reach an intranet host: `allow_networks`
(NEWSDESK_ALLOW_NETWORKS) lists 127.0.0.1/32; 127.0.0.2 stays refused and plays the internal service.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings, load_settings
from ingest.fetch import _is_public, fetch
from ingest.loaders import load_sources, load_url

REFUSED = "refusing to fetch a private or loopback address"
SCHEME_REFUSED = "only http and https URLs are supported"
LOOPBACK_ONLY = "127.0.0.1/32"

# --- observing the network -----------------------------------------------------------------------

_recording: list[tuple[str, object]] | None = None


def _audit(event: str, args: tuple) -> None:
    if _recording is not None:
        if event == "socket.connect":
            _recording.append(("connect", args[1]))
        elif event == "socket.getaddrinfo":
            _recording.append(("lookup", args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it does nothing outside `network_calls`


@contextmanager
def network_calls() -> Iterator[list[tuple[str, object]]]:
    """Every `socket.connect` and `socket.getaddrinfo` made by this process inside the block."""
    global _recording
    calls: list[tuple[str, object]] = []
    _recording = calls
    try:
        yield calls
    finally:
        _recording = None


def connects(calls: list[tuple[str, object]]) -> list[object]:
    return [target for kind, target in calls if kind == "connect"]


def lookups(calls: list[tuple[str, object]]) -> list[object]:
    return [str(target) for kind, target in calls if kind == "lookup"]


# --- loopback servers ------------------------------------------------------------------------------


class Server:
    """A real HTTP server on a loopback address: path -> (status, headers, body); records requests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.connections = 0
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                state.requests.append((self.path, self.headers.get("Host", "")))
                status, headers, body = state.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for key, value in {"Content-Type": "text/plain", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Counting(ThreadingHTTPServer):
            def verify_request(self, request: object, client_address: object) -> bool:
                state.connections += 1
                return True

        self.httpd = Counting((host, 0), Handler)
        self.host, self.port = host, self.httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes = b"", status: int = 200, **headers: str) -> str:
        self.routes[path] = (status, headers, body)
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[Server]:
    server = Server("127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def internal() -> Iterator[Server]:
    """A service on 127.0.0.2: loopback, so a leak stays on this machine, but outside the allow-list."""
    server = Server("127.0.0.2")
    server.add("/secret", b"internal secret")
    yield server
    server.close()


@pytest.fixture
def allowed() -> Settings:
    return Settings(allow_networks=LOOPBACK_ONLY, fetch_timeout=5, _env_file=None)


ARTICLE = b"Rescue\n\nPolice freed 40 workers from a scam compound on Monday, officials said.\n"


# --- IP literals: refused before any lookup or connection --------------------------------------------

PRIVATE_LITERALS = [
    "10.0.0.1", "10.255.255.254",  # 10/8
    "172.16.0.1", "172.31.255.254",  # 172.16/12
    "192.168.0.1", "192.168.255.254",  # 192.168/16
    "169.254.169.254", "169.254.0.1",  # link-local, cloud metadata
    "100.64.0.1", "100.127.255.254",  # carrier-grade NAT 100.64/10
    "127.0.0.1", "127.255.255.254",  # loopback
    "0.0.0.0", "0.1.2.3",  # "this network"
    "224.0.0.1", "239.255.255.250", "255.255.255.255",  # multicast, broadcast
    "240.0.0.1", "198.18.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.1",  # reserved, benchmark, documentation
    "192.0.0.8", "192.0.0.170",  # IETF protocol assignments (Python 3.11.7 calls 192.0.0.8 global)
    "192.88.99.1",  # deprecated 6to4 relay anycast
    "[::1]", "[::]",  # IPv6 loopback, unspecified
    "[fc00::1]", "[fd12:3456::1]",  # unique local fc00::/7
    "[fe80::1]", "[fe80::1%25eth0]",  # link-local fe80::/10, with a zone
    "[fec0::1]",  # deprecated site-local
    "[ff02::1]",  # IPv6 multicast
    "[::ffff:10.0.0.1]", "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]",  # IPv4-mapped IPv6
    "[::ffff:a9fe:a9fe]",  # the same metadata address, mapped and written in hex
    "[::a00:1]",  # deprecated IPv4-compatible form of 10.0.0.1
    "[64:ff9b::a00:1]",  # NAT64 prefix to 10.0.0.1
    "[2002:a00:1::1]",  # 6to4 of 10.0.0.1
    "[2001:db8::1]", "[3fff::1]", "[100::1]",  # documentation, discard
    "[2001::1]", "[64:ff9b:1::1]", "[5f00::1]",  # Teredo, local NAT64, SRv6 segment ids
]


@pytest.mark.parametrize("host", PRIVATE_LITERALS)
def test_private_ip_literals_refused_without_lookup_or_connection(host: str) -> None:
    with network_calls() as calls:
        loaded = load_url(f"http://{host}:8080/latest/meta-data/", Settings(_env_file=None))
        https = load_url(f"https://{host}/", Settings(_env_file=None))
    for result in (loaded, https):
        assert result.error is not None and result.error.startswith(REFUSED), result.error
        assert "NEWSDESK_ALLOW_PRIVATE_URLS=true" in result.error and "NEWSDESK_ALLOW_NETWORKS" in result.error
    assert calls == []


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_are_public(address: str) -> None:
    assert _is_public(address)


def test_userinfo_and_fragment_tricks_are_judged_by_the_real_host() -> None:
    settings = Settings(_env_file=None)
    with network_calls() as calls:
        errors = [load_url(url, settings).error or "" for url in (
            "http://news.example.org@169.254.169.254/", "http://169.254.169.254#@news.example.org/",
            "http://169.254.169.254?@news.example.org/", "http://news.example.org:80@[::ffff:a9fe:a9fe]/",
        )]
    assert all(error.startswith(REFUSED + ": 169.254.169.254") or error.startswith(REFUSED + ": ::ffff:a9fe:a9fe")
               for error in errors), errors
    assert calls == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://10.0.0.1/", "gopher://127.0.0.1:6379/_INFO", "dict://127.0.0.1:11211/",
            "javascript:alert(1)", "data:text/html,<p>x</p>", "http:///nohost", "//169.254.169.254/"],
)
def test_other_schemes_refused_without_network(url: str) -> None:
    with network_calls() as calls:
        [loaded] = list(load_sources([url], Settings(allow_private_urls=True, _env_file=None)))
    assert loaded.error is not None
    assert loaded.error in (SCHEME_REFUSED, "no such file or folder")  # a bare path is a (missing) file
    assert calls == []


# --- names: resolved once, checked, and the checked address is the one connected to ----------------


@pytest.mark.parametrize("name", ["localhost", "2130706433", "0x7f.0.0.1", "127.1", "0177.0.0.1", "017700000001"])
def test_names_resolving_to_loopback_are_refused_before_connecting(site: Server, name: str) -> None:
    site.add("/page", ARTICLE)
    with network_calls() as calls:
        loaded = load_url(f"http://{name}:{site.port}/page", Settings(_env_file=None))
    assert loaded.error is not None
    if name == "0177.0.0.1":  # httpx itself rejects the octal form
        assert loaded.error == "invalid URL: Invalid IPv4 address: '0177.0.0.1'"
    else:
        assert loaded.error.startswith(f"{REFUSED}: {name} is 127.0.0.1"), loaded.error
    assert connects(calls) == []
    assert site.connections == 0


def test_name_is_resolved_once_and_the_vetted_address_is_connected(site: Server, allowed: Settings) -> None:
    site.add("/story.txt", ARTICLE)
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    with network_calls() as calls:
        fetched = fetch(f"http://news.example:{site.port}/story.txt", allowed, resolve=resolve)
    assert fetched.body == ARTICLE
    assert asked == ["news.example"]
    assert connects(calls) == [("127.0.0.1", site.port)]
    assert "news.example" not in lookups(calls)  # httpx did not resolve the name a second time
    assert site.requests == [("/story.txt", f"news.example:{site.port}")]  # Host header keeps the name


def test_dns_rebinding_cannot_reach_the_address_that_was_not_checked(
    site: Server, internal: Server, allowed: Settings
) -> None:
    """A resolver that answers the allowed address first and an internal one afterwards: each connection
    uses the single answer that was checked, so the internal service is never reached."""
    site.add("/story.txt", ARTICLE)
    answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    first = fetch(f"http://rebind.example:{site.port}/story.txt", allowed, resolve=rebinding)
    assert first.body == ARTICLE
    with pytest.raises(ValueError, match=f"^{REFUSED}: rebind.example is 127.0.0.2"):
        fetch(f"http://rebind.example:{internal.port}/secret", allowed, resolve=rebinding)
    assert internal.connections == 0 and internal.requests == []


def test_a_name_with_any_refused_address_is_refused_whole(site: Server, allowed: Settings) -> None:
    site.add("/story.txt", ARTICLE)
    with network_calls() as calls, pytest.raises(ValueError, match=f"^{REFUSED}: mixed.example is 10.0.0.1"):
        fetch(f"http://mixed.example:{site.port}/story.txt", allowed,
              resolve=lambda host, port: ["127.0.0.1", "10.0.0.1"])
    assert connects(calls) == [] and site.connections == 0


def test_allow_networks_opens_only_the_listed_network(site: Server, internal: Server, allowed: Settings) -> None:
    site.add("/story.txt", ARTICLE, **{"Content-Type": "text/plain"})
    assert load_url(site.base + "/story.txt", allowed).error is None
    assert load_url(site.base + "/story.txt", Settings(_env_file=None)).error.startswith(REFUSED)  # type: ignore[union-attr]
    refused = load_url(internal.base + "/secret", allowed)
    assert refused.error is not None and refused.error.startswith(f"{REFUSED}: 127.0.0.2")
    assert internal.connections == 0


def test_allow_networks_setting_parses_a_comma_list_and_names_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_NETWORKS", "10.20.0.0/16, 127.0.0.1/32,fd00::/8")
    networks = load_settings(_env_file=None).allow_networks
    assert [str(n) for n in networks] == ["10.20.0.0/16", "127.0.0.1/32", "fd00::/8"]
    monkeypatch.setenv("NEWSDESK_ALLOW_NETWORKS", "10.0.0.1/8")  # host bits set: a typo, not a network
    with pytest.raises(ConfigError, match="NEWSDESK_ALLOW_NETWORKS"):
        load_settings(_env_file=None)


# --- redirects: every hop is checked -----------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    ["http://10.0.0.1/secret", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.2]/",
     "http://[::1]:{port}/page", "http://2130706434:{internal}/secret"],
)
def test_redirect_to_a_private_address_is_refused(site: Server, internal: Server, allowed: Settings,
                                                   location: str) -> None:
    site.add("/page", ARTICLE)
    url = site.add("/jump", status=302, Location=location.format(port=site.port, internal=internal.port))
    with network_calls() as calls:
        loaded = load_url(url, allowed)
    assert loaded.error is not None and loaded.error.startswith(REFUSED), loaded.error
    assert [path for path, _ in site.requests] == ["/jump"]
    assert connects(calls) == [("127.0.0.1", site.port)]  # only the allowed first hop
    assert internal.connections == 0


def test_redirect_to_a_name_resolving_internally_is_refused(site: Server, internal: Server, allowed: Settings) -> None:
    url = site.add("/jump", status=307, Location=f"http://intranet.example:{internal.port}/secret")
    hosts = {"intranet.example": ["127.0.0.2"]}
    with pytest.raises(ValueError, match=f"^{REFUSED}: intranet.example is 127.0.0.2"):
        fetch(url, allowed, resolve=lambda host, port: hosts.get(host, [host]))
    assert internal.connections == 0


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:6379/_FLUSHALL", "javascript:alert(1)",
                 "data:text/plain,hello"],
)
def test_redirect_to_another_scheme_is_refused(site: Server, allowed: Settings, location: str) -> None:
    url = site.add("/jump", status=301, Location=location)
    loaded = load_url(url, allowed)
    # httpx already rejects "javascript:x" and "data:x" while reading the redirect (not "//"-style URLs).
    assert loaded.error == SCHEME_REFUSED or (":" in location[:11] and "//" not in location
                                             and loaded.error == "invalid URL: For absolute URLs, path must be "
                                                                 "empty or begin with '/'"), loaded.error
    assert [path for path, _ in site.requests] == ["/jump"]


def test_allowed_redirect_is_followed(site: Server, allowed: Settings) -> None:
    site.add("/story.txt", ARTICLE)
    url = site.add("/old", status=308, Location="/story.txt")
    assert fetch(url, allowed).url == site.base + "/story.txt"


# --- TLS keeps the name --------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, list[str | None]]]:
    """A TLS listener on 127.0.0.1 with a self-signed certificate; records the SNI of each handshake."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=news.example",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment, func-returns-value]
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    context.wrap_socket(conn, server_side=True).close()
                except (ssl.SSLError, OSError):
                    pass  # the client rejects our certificate, as it should

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], names
    listener.close()


def test_tls_uses_the_name_for_sni_and_certificate_check(tls_server: tuple[int, list[str | None]],
                                                        allowed: Settings) -> None:
    port, names = tls_server
    with network_calls() as calls, pytest.raises(ValueError, match="certificate"):
        fetch(f"https://news.example:{port}/", allowed, resolve=lambda host, p: ["127.0.0.1"])
    assert connects(calls) == [("127.0.0.1", port)]
    assert names == ["news.example"]
