"""A small reverse proxy with limits, as a deployment's front end (nginx, gunicorn...) is.

It reads each request's head and body, refuses what passes its limits with the HTML page
such a front end sends (414 for the request line, 431 for a header field, 413 for the
body; no Placement headers), answers 502 where it is told Placement is unreachable, and
forwards the rest to Placement, one request per connection. Limits are those of
`conformance.front_end.Limits`, so a test can set them as tight as it needs.
"""

from __future__ import annotations

import contextlib
import http.client
import socketserver
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Iterator

from conformance.front_end import Limits

# The longest request head read at all, whatever the limits: a guard, not a limit tested.
MAX_HEAD = 1024 * 1024
# Hop-by-hop headers (RFC 9110), which a proxy does not pass on.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                        "upgrade", "proxy-authenticate", "proxy-authorization"})
REASONS = {413: "Request Entity Too Large", 414: "Request-URI Too Large",
           431: "Request Header Fields Too Large", 502: "Bad Gateway"}


@dataclass
class Refused:
    """What the proxy refused: the status, the method and path (without the query)."""

    status: int
    method: str
    path: str


@dataclass
class ProxyLog:
    """The requests the proxy answered itself, in order."""

    refused: list[Refused] = field(default_factory=list)
    forwarded: int = 0


def _error_page(status: int) -> bytes:
    """nginx's page for `status`."""
    title = f"{status} {REASONS[status]}"
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            f"</body>\r\n</html>\r\n").encode()
    head = (f"HTTP/1.1 {title}\r\nServer: nginx\r\nContent-Type: text/html\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return head + body


class _Handler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        head = self._read_head()
        if head is None:
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (request_line.split(" ", 2) + ["", ""])[:3]
        path = urllib.parse.urlsplit(target).path
        headers = [line.split(":", 1) for line in header_lines if ":" in line]
        headers = [(name.strip(), value.strip()) for name, value in headers]
        length = next((int(value) for name, value in headers
                       if name.lower() == "content-length"), 0)
        limits = self.server.limits
        if len(request_line.encode("latin-1")) > limits.request_line:
            return self._refuse(414, method, path)
        if any(len(line.encode("latin-1")) > limits.header_field for line in header_lines):
            return self._refuse(431, method, path)
        if length > limits.body:
            return self._refuse(413, method, path)
        body = self.rfile.read(length) if length else b""
        if self.server.unreachable(method, path):
            return self._refuse(502, method, path)
        self._forward(method, target, headers, body)

    def _read_head(self) -> bytes | None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline(MAX_HEAD)
            if not line:
                return None
            head += line
            if len(head) > MAX_HEAD:
                return None
        return head[:-4]

    def _refuse(self, status: int, method: str, path: str) -> None:
        self.server.log.refused.append(Refused(status, method, path))
        self.wfile.write(_error_page(status))

    def _forward(self, method: str, target: str, headers: list[tuple[str, str]],
                 body: bytes) -> None:
        upstream = http.client.HTTPConnection(self.server.upstream.hostname,
                                              self.server.upstream.port, timeout=60)
        try:
            upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            content = response.read()
        finally:
            upstream.close()
        self.server.log.forwarded += 1
        lines = [f"HTTP/1.1 {response.status} {response.reason}"]
        lines += [f"{name}: {value}" for name, value in response.getheaders()
                  if name.lower() not in HOP_BY_HOP | {"content-length"}]
        lines += [f"Content-Length: {len(content)}", "Connection: close"]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: str, limits: Limits,
                 unreachable: Callable[[str, str], bool], log: ProxyLog):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urllib.parse.urlsplit(upstream)
        self.limits = limits
        self.unreachable = unreachable
        self.log = log


def _never(method: str, path: str) -> bool:
    return False


@contextlib.contextmanager
def proxy(upstream: str, limits: Limits,
          unreachable: Callable[[str, str], bool] = _never) -> Iterator[tuple[str, ProxyLog]]:
    """Serve the proxy in front of `upstream` (an http:// URL); yield its URL and its log.
    `unreachable(method, path)` says which requests get 502, as if Placement were down."""
    log = ProxyLog()
    server = _ProxyServer(upstream, limits, unreachable, log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
