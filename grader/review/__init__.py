"""``grader review OUT``: a local web page to score what waits for a person, then re-score at once.

The standard library serves it (``wsgiref``, one thread per request): one
reviewer or two on one machine need no more, and the project gains no
dependency. It listens on 127.0.0.1 unless told otherwise, and every start
makes a new secret token that every address must carry.
"""
from __future__ import annotations

import ipaddress
import secrets
import socket
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import ReviewApp
from .record import Record, write_record

__all__ = ["serve", "ReviewApp", "Record", "write_record"]


class _Server(ThreadingMixIn, WSGIServer):
    """A request at a time per thread: a browser's idle spare connection does not block the others."""
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no line per request: the page prints one per save
        pass


def serve(out: Path, host: str = "127.0.0.1", port: int = 0, manual_scores: Path | None = None,
          reviewer: str = "", lang: str | None = None) -> int:
    """Serve the review page of ``out`` until interrupted; prints its address (with the token) first."""
    app = ReviewApp(Record.load(out, manual_scores), secrets.token_urlsafe(24), reviewer, lang)
    with make_server(host, port, app, server_class=_Server6 if ":" in host else _Server,
                     handler_class=_QuietHandler) as server:
        shown = f"[{host}]" if ":" in host else host
        print(f"Review page: http://{shown}:{server.server_port}{app.url}", flush=True)
        print(f"Scores go to {app.record.manual_scores}; Ctrl-C stops the server (every save is already written).",
              file=sys.stderr, flush=True)
        if not _loopback(host):
            print(f"grader: WARNING: listening on {host}: anyone who can reach it and has the address can review; "
                  f"the page is plain HTTP, so the token crosses the network unencrypted.", file=sys.stderr)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
