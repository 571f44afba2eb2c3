"""Fetching http(s) URLs without being turned against the local network (SSRF), within size and time limits.

Only http and https; no private, loopback, link-local or otherwise special address unless allowed
(NEWSDESK_ALLOW_NETWORKS, NEWSDESK_ALLOW_PRIVATE_URLS); a host name is resolved once, by the network
backend that then connects to the vetted address itself, so DNS rebinding cannot slip in between;
every redirect is checked the same way; no proxy from the environment; bodies are read (and
decompressed, `ingest.compressed`) only up to NEWSDESK_MAX_SOURCE_BYTES. SECURITY.md lists the tests.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from core.settings import Settings
from ingest.compressed import DecodeError, accept_encoding, decoded
from ingest.limits import megabytes, too_large

USER_AGENT = "NewsdeskQA/0.1"


MAX_REDIRECTS = 5


NOT_MODIFIED = 304


@dataclass(frozen=True)
class Fetched:
    """A fetched response body (at most `max_source_bytes`) and where it finally came from."""

    url: str
    content_type: str
    charset: str | None
    body: bytes
    status: int = 200
    etag: str | None = None
    """The response's ETag, to send back as If-None-Match."""
    last_modified: str | None = None
    """The response's Last-Modified, to send back as If-Modified-Since."""

    @property
    def not_modified(self) -> bool:
        """The server answered a conditional request with 304: what was fetched before is current (no body)."""
        return self.status == NOT_MODIFIED


def _refusal(host: str, address: str) -> str:
    shown = address if host.strip("[]") == address else f"{host} is {address}"
    return (f"refusing to fetch a private or loopback address: {shown} (set NEWSDESK_ALLOW_PRIVATE_URLS=true, "
            "or add its network to NEWSDESK_ALLOW_NETWORKS, to allow)")


def check_url(url: str, settings: Settings) -> None:
    """Refuse non-http(s) URLs, and IP-literal hosts that are not allowed, before anything is sent.

    Host names are checked where they are resolved, in `_VettingBackend`, right before connecting,
    so that the address checked is the address connected to.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("only http and https URLs are supported")
    try:
        _ = parts.port
    except ValueError as e:
        raise ValueError(f"invalid URL: {e}") from e
    try:
        ipaddress.ip_address(parts.hostname.split("%", 1)[0])
    except ValueError:
        return  # a name: checked when it is resolved
    if not _address_allowed(parts.hostname, settings):
        raise ValueError(_refusal(parts.hostname, parts.hostname))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


# IANA special-purpose ranges, listed here because `is_global` depends on the Python patch release
# (3.11.7 counts 192.0.0.8, 192.0.0.0/24 outside /29, as global).
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4", "64:ff9b:1::/48", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
    "5f00::/16",
))


def _effective_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address a packet really goes to: IPv6 forms that carry an IPv4 address are judged by it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _is_public(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local, CGNAT,
    unspecified, multicast, reserved and site-local ones (IPv4-mapped/6to4/NAT64 by their IPv4)."""
    ip = _effective_ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return False  # loopback, unspecified, unique local, link-local, site-local, multicast, reserved
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return False
    return not any(ip in network for network in _NOT_PUBLIC)


def _address_allowed(address: str, settings: Settings) -> bool:
    if settings.allow_private_urls or _is_public(address):
        return True
    ips = {ipaddress.ip_address(address.split("%", 1)[0]), _effective_ip(address)}
    return any(ip in network for ip in ips for network in settings.allow_networks)


Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal is returned as is, without a lookup)."""
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise ValueError(f"could not fetch: cannot resolve host '{host}'") from e
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _VettingBackend:
    """An httpcore network backend that resolves a host once, refuses it when any of its addresses
    is not allowed, and connects to the vetted address itself: no second lookup, so DNS rebinding
    between the check and the connection is impossible. TLS (SNI, certificate) and the Host header
    still use the name, since httpcore passes the origin's name to `start_tls`."""

    def __init__(self, settings: Settings, resolve: Resolver = resolve_host) -> None:
        import httpcore

        self._settings = settings
        self._resolve = resolve
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> Any:
        import httpcore

        host = host.strip("[]")
        addresses = self._resolve(host, port)
        for address in addresses:
            if not _address_allowed(address, self._settings):
                raise ValueError(_refusal(host, address))
        if not addresses:
            raise ValueError(f"could not fetch: cannot resolve host '{host}'")
        error: Exception | None = None
        for address in addresses:
            try:
                return self._tcp.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise ValueError("only http and https URLs are supported")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def vetting_transport(settings: Settings, resolve: Resolver = resolve_host) -> Any:
    """An `httpx.HTTPTransport` whose every connection goes through `_VettingBackend`."""
    import httpcore
    import httpx

    transport = httpx.HTTPTransport(trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):  # httpx is pinned to 0.28
        raise RuntimeError("httpx.HTTPTransport no longer wraps an httpcore.ConnectionPool: update vetting_transport")
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), keepalive_expiry=5.0,
        network_backend=_VettingBackend(settings, resolve),  # type: ignore[arg-type]
    )
    return transport


def fetch(url: str, settings: Settings, *, resolve: Resolver = resolve_host,
          headers: Mapping[str, str] | None = None) -> Fetched:
    """GET `url` following up to 5 redirects (each one checked), streaming at most `max_source_bytes`.

    `headers` are added to every request, e.g. If-None-Match and If-Modified-Since for a conditional
    request, whose 304 answer comes back as a `Fetched` with `not_modified` and no body.
    No proxy or .netrc from the environment is used: a proxy would resolve and connect on its own,
    out of reach of the address check.
    """
    import httpx

    deadline = time.monotonic() + settings.fetch_timeout
    defaults = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,application/xml,*/*;q=0.8",
                "Accept-Encoding": accept_encoding()}
    transport = vetting_transport(settings, resolve)
    try:
        with httpx.Client(transport=transport, timeout=settings.fetch_timeout, headers=defaults,
                          follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                check_url(url, settings)
                with client.stream("GET", url, headers=dict(headers or {})) as response:
                    # httpx counts every 3xx as a redirect, 304 included; a 304 is an answer, not a move.
                    if response.status_code != NOT_MODIFIED and response.is_redirect \
                            and "location" in response.headers:
                        url = urljoin(str(response.url), response.headers["location"])
                        continue
                    return _read_response(response, settings, deadline)
    except httpx.TimeoutException as e:
        raise ValueError(f"could not fetch: timed out after {settings.fetch_timeout:g}s") from e
    except httpx.InvalidURL as e:
        raise ValueError(f"invalid URL: {e}") from e
    except (httpx.HTTPError, httpx.StreamError, OSError, UnicodeError) as e:
        raise ValueError(f"could not fetch: {_describe_http_error(e)}") from e
    raise ValueError(f"too many redirects (more than {MAX_REDIRECTS})")


def _describe_http_error(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "connection refused"
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)


def _read_response(response: Any, settings: Settings, deadline: float) -> Fetched:
    if response.status_code >= 400:
        raise ValueError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
    validators = {"etag": response.headers.get("etag"), "last_modified": response.headers.get("last-modified")}
    if response.status_code == NOT_MODIFIED:
        return Fetched(url=str(response.url), content_type="", charset=None, body=b"", status=NOT_MODIFIED,
                       **validators)
    limit = settings.max_source_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValueError(too_large("response", megabytes(int(declared)), settings.max_source_bytes))
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
    body = bytearray()
    try:
        for piece in decoded(response.iter_raw(), [e for e in encodings if e and e != "identity"]):
            body += piece
            if len(body) > limit:
                raise ValueError(too_large("response", f"more than {megabytes(limit)}", limit)
                                 + (" once decompressed" if encodings != [""] else ""))
            if time.monotonic() > deadline:
                raise ValueError(f"could not fetch: timed out after {settings.fetch_timeout:g}s")
    except DecodeError as e:
        raise ValueError(f"could not fetch: {e}") from e
    content_type = response.headers.get("content-type", "")
    return Fetched(url=str(response.url), content_type=content_type.split(";")[0].strip().lower(),
                   charset=response.charset_encoding, body=bytes(body), status=response.status_code, **validators)

