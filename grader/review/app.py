"""The review page: the human-review parts of one question at a time, across the class.

A WSGI application, so that its handlers are plain calls (tests call it
without a socket) and any WSGI server can serve it; :mod:`grader.review`
serves it with the standard library's. Every address starts with the
server's secret token; a request without it is refused. A save writes
manual_scores.csv at once (:class:`grader.review.sheet.Sheet`), then
re-scores that submission from its saved results (:meth:`Record.rescore`).
"""
from __future__ import annotations

import math
import secrets
import threading
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode

from .. import i18n
from ..batch import BatchError
from ..report.html import environment_with
from ..result import Check, Result
from .record import Record
from .sheet import Conflict, Flags, Sheet, aliases, version

HERE = Path(__file__).parent
MAX_FORM = 64 * 1024       # bytes of a posted form
MAX_COMMENT = 2000         # characters of a comment
REUSABLE = 9               # past comments offered, on the keys 1 to 9
COOKIE = "grader_reviewer"
ROUTES = {"": "GET", "review.js": "GET", "review": "GET", "save": "POST", "flag": "POST"}  # first segment: method


@dataclass
class Item:
    """One submission's part (``text`` or ``model``) of a question, awaiting or after review."""
    sid: str
    alias: str
    result: Result
    check: Check
    part: str
    details: list[dict]        # the parts of the check that the reviewer scores
    bound: float               # the most points they can give

    @property
    def measured(self) -> float | None:
        """What held model parts would earn; None for written answers."""
        return sum(d["would_earn"] for d in self.details) if self.part == "model" else None


class Refused(Exception):
    """A request answered with an error page: ``status`` and the words of ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ReviewApp:
    def __init__(self, record: Record, token: str | None = None, reviewer: str = "", lang: str | None = None):
        self.record = record
        self.token = token or secrets.token_urlsafe(24)
        self.reviewer, self.lang = reviewer, lang or record.lang
        state = record.out / ".grader"
        self.rubric = record.rubric
        self.sheet = Sheet(record.manual_scores, self.rubric, state / "review.lock")
        self.flags = Flags(state / "review-flags.json", state / "review.lock")
        self.alias = aliases(record.jobs, state / "review-secret", state / "review.lock")
        self.order = sorted(record.jobs, key=self.alias.__getitem__)
        self.templates = environment_with(HERE / "templates")
        self.saving = threading.Lock()   # one save and re-score at a time: the class files stay whole

    @property
    def url(self) -> str:
        return f"/{self.token}/"

    def words(self, key: str) -> str:
        """The page's words for ``key`` (the catalog holds the page's and the reports' words)."""
        return i18n.text(key, self.lang)

    # WSGI

    def __call__(self, environ, start_response):
        headers = [("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
                   ("X-Content-Type-Options", "nosniff"),
                   ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")]
        try:
            status, more, body, kind = self.respond(environ)
        except Refused as refused:
            status, more, kind = refused.status, [], "text/html"
            body = self.render("message.html.j2", message=str(refused))
        except Exception as error:  # a bug of the page's own: said on the page and in the server's log
            traceback.print_exc()
            status, more, kind = 500, [], "text/html"
            body = self.render("message.html.j2", message=f"{self.words('failed')}: {type(error).__name__}: {error}")
        data = body.encode("utf-8")
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       headers + more + [("Content-Type", f"{kind}; charset=utf-8"),
                                         ("Content-Length", str(len(data)))])
        return [data]

    def respond(self, environ) -> tuple[int, list, str, str]:
        """(status, extra headers, body, content type) for one request."""
        raw = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        token, _, rest = raw.lstrip("/").partition("/")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            raise Refused(403, self.words("forbidden"))
        route = [unquote(segment) for segment in rest.split("/") if segment]
        page = route[0] if route else ""
        if page not in ROUTES or len(route) != (4 if page == "review" else 1 if page else 0):
            raise Refused(404, self.words("not_found"))
        if environ.get("REQUEST_METHOD", "GET") != ROUTES[page]:
            raise Refused(405, self.words("not_allowed"))
        query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        names = query.get("names") == "1"
        if page == "":
            return 200, [], self.home(names, saved=query.get("saved")), "text/html"
        if page == "review.js":
            return 200, [], (HERE / "static" / "review.js").read_text(encoding="utf-8"), "text/javascript"
        if page == "review":
            item = self.item(*route[1:])
            return 200, [], self.page(item, names, self._reviewer(environ), saved=query.get("saved")), "text/html"
        form = _form(environ)
        names = form.get("names") == "1"
        item = self.item(form.get("question", ""), form.get("part", ""), form.get("alias", ""))
        reviewer = " ".join(form.get("reviewer", "").split())[:80] or self._reviewer(environ)
        cookie = [("Set-Cookie", f"{COOKIE}={quote(reviewer)}; Path=/; SameSite=Strict; HttpOnly")]
        if page == "flag":
            self.flags.set(item.sid, form.get("flagged") == "1", reviewer)
            return 303, cookie + [("Location", self.link(item, names))], "", "text/html"
        with self.saving:
            return self.save(item, form, reviewer, names, cookie)

    def _reviewer(self, environ) -> str:
        cookie = SimpleCookie()
        try:
            cookie.load(environ.get("HTTP_COOKIE", ""))
        except Exception:  # a malformed cookie header: no remembered name
            return self.reviewer
        return unquote(cookie[COOKIE].value) if COOKIE in cookie else self.reviewer

    # what is under review

    def queues(self) -> dict[tuple[str, str], list[Item]]:
        """(question, part) -> its items in the page's order of students; only parts someone must score."""
        results, rows = self.record.results(), self.sheet.rows()
        queues: dict[tuple[str, str], list[Item]] = {}
        for question in self.rubric.questions:
            kinds = [spec.kind for spec in question.checks]
            for part in ("text", "model"):
                for sid in self.order:
                    check = next((c for c in getattr(results.get(sid), "checks", []) if c.id == question.id), None)
                    if check is None:
                        continue
                    details = [d for d, kind in zip(check.details, kinds) if _reviewed_here(d, kind, part)]
                    if part == "text":  # an answer missing is no one's to score; one scored stays listed
                        details = [d for d in details
                                   if d.get("status") == "manual" or (sid, question.id, part) in rows]
                    if details:
                        queues.setdefault((question.id, part), []).append(Item(
                            sid, self.alias[sid], results[sid], check, part, details,
                            sum(float(d.get("max_score", 0)) for d in details)))
        return queues

    def item(self, question: str, part: str, alias: str) -> Item:
        for item in self.queues().get((question, part), []):
            if item.alias == alias:
                return item
        raise Refused(404, self.words("not_found"))

    def link(self, item: Item | None, names: bool, **query) -> str:
        if names:
            query["names"] = "1"
        tail = ("?" + urlencode(query)) if query else ""
        if item is None:
            return self.url + tail
        return f"{self.url}review/{quote(item.check.id, safe='')}/{item.part}/{item.alias}{tail}"

    # pages

    def render(self, template: str, **context) -> str:
        return self.templates.get_template(template).render(
            lang=self.lang, t=self.words, loc=lambda value: i18n.localized(value, self.lang), base=self.url,
            title=self.record.title, **context)

    def home(self, names: bool, saved: str | None = None) -> str:
        queues, rows, flags = self.queues(), self.sheet.rows(), self.flags.get()
        summary = []
        for (qid, part), items in queues.items():
            done = [item for item in items if (item.sid, qid, part) in rows]
            first = next((item for item in items if item not in done), items[0])
            summary.append({"question": qid, "title": items[0].check.title, "part": part, "count": len(items),
                            "reviewed": len(done), "bound": max(item.bound for item in items),
                            "start": self.link(first, names),
                            "flagged": sum(item.sid in flags for item in items)})
        flagged = [item for items in queues.values() for item in items if item.sid in flags]
        saved_item = next((item for items in queues.values() for item in items if item.alias == saved), None)
        return self.render("home.html.j2", summary=summary, flagged=flagged, names=names, link=self.link,
                           csv=self.record.manual_scores, out=self.record.out, saved=saved_item,
                           toggle=self.link(None, not names))

    def page(self, item: Item, names: bool, reviewer: str, saved: str | None = None, problem: str = "",
             tried: dict | None = None, status: int = 200) -> str:
        items = self.queues()[(item.check.id, item.part)]
        at = next(index for index, other in enumerate(items) if other.sid == item.sid)
        row = self.sheet.rows().get((item.sid, item.check.id, item.part))
        saved_item = next((other for other in items if other.alias == saved), None)
        return self.render(
            "item.html.j2", item=item, at=at, count=len(items), names=names, row=row, version=version(row),
            reviewer=reviewer, flagged=item.sid in self.flags.get(), problem=problem, tried=tried or {},
            past=self.sheet.comments(item.check.id, item.part)[:REUSABLE],
            prev=self.link(items[at - 1], names) if at > 0 else "",
            next=self.link(items[at + 1], names) if at + 1 < len(items) else "",
            home=self.link(None, names), toggle=self.link(item, not names), saved=saved_item)

    # saving

    def save(self, item: Item, form: dict, reviewer: str, names: bool, cookie: list) -> tuple[int, list, str, str]:
        action = form.get("action", "save")
        comment = " ".join(form.get("comment", "").split())[:MAX_COMMENT]
        tried = {"points": form.get("points", ""), "comment": comment}

        def again(status: int, problem: str):
            return status, cookie, self.page(item, names, reviewer, problem=problem, tried=tried), "text/html"

        if action == "clear":
            points = None
        elif action == "confirm" and item.part == "model":
            points = ""  # a model row without points confirms what was measured
        else:
            text = form.get("points", "").strip().replace(",", ".")
            if not text:
                return again(400, self.words("no_points"))
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and 0 <= value <= item.bound):
                return again(400, f"{self.words('bad_points')} {i18n.number(item.bound)}.")
            points = f"{value:g}"
        try:
            self.sheet.save((item.sid, item.check.id, item.part), form.get("version", ""), points, comment, reviewer)
        except (OSError, BatchError) as error:  # the file as it was: nothing is half written
            return again(500, f"{self.words('not_written')} {self.record.manual_scores}: {error}")
        except Conflict as conflict:
            if conflict.row is None:
                return again(409, self.words("conflict_removed"))
            now = conflict.row
            return again(409, f"{self.words('conflict')}: {now.get('points') or self.words('confirmed')} "
                              f"«{now.get('comment') or ''}» ({self.words('by')} {now.get('reviewer') or '?'}).")
        print(f"grader review: {item.sid} {item.check.id} {item.part}: "
              f"{'cleared' if points is None else points or 'confirmed'} by {reviewer or '?'}", flush=True)
        try:
            self.record.rescore(item.sid)
        except BatchError as error:
            return 500, cookie, self.page(item, names, reviewer, problem=f"{self.words('not_rescored')}: {error}"), \
                "text/html"
        items = self.queues()[(item.check.id, item.part)]
        at = next(index for index, other in enumerate(items) if other.sid == item.sid)
        after = items[at + 1] if at + 1 < len(items) else None
        return 303, cookie + [("Location", self.link(after, names, saved=item.alias))], "", "text/html"


def _reviewed_here(detail: dict, kind: str, part: str) -> bool:
    """Whether a check's part is one the reviewer scores as ``part``: a human-review kind's (free text), or a
    model's held points."""
    from ..evaluate.checks import declared
    return declared(kind).human_review if part == "text" else detail.get("would_earn") is not None


def _form(environ) -> dict[str, str]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= MAX_FORM:
        raise Refused(413, "form too large")
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
