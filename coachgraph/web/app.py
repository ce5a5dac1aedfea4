"""The ASGI app `coachgraph serve` runs (SPEC §11, §17): the web inbox and the unsubscribe endpoint.

The web inbox (`coachgraph.web.inbox`, sign-in in `coachgraph.web.auth`) is for people who
approve drafts; every page but `/login` needs a session.

`GET /u/{token}` only shows a confirmation page (link scanners fetch every URL in a
message, so a GET never unsubscribes); `POST /u/{token}` with `List-Unsubscribe=One-Click`
(what a mailbox provider sends, and what the page's form sends) unsubscribes at once.
It is the one route without sign-in: the signed token is the only credential. Every page
is server-rendered, escapes all CRM text, needs nothing from another origin, and carries
the security headers.
"""

from __future__ import annotations

import email.policy
import html
import logging
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coachgraph.mail.unsubscribe import ONE_CLICK_BODY, TokenError, resolve, secret_bytes
from coachgraph.mail.unsubscribe import unsubscribe as unsubscribe_token
from coachgraph.store.crm import CrmStore
from coachgraph.store.engine import context_timeouts
from coachgraph.store.unsubscribe import Unsubscribed
from coachgraph.web.agent_inbox import agent_inbox_app
from coachgraph.web.auth import login, login_page, logout, session_middleware, signed_in
from coachgraph.web.inbox import Inbox, inbox_routes
from schemas.context import Context
from schemas.errors import ConfigError, NotFoundError, UserError
from schemas.values import now_from

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Sent with every response, errors included."""
MAX_BODY_BYTES = 4096
"""A one-click POST body is a few dozen bytes; anything past this is refused."""
STATIC_DIR = Path(__file__).parent / "static"
"""The inbox's stylesheet: shipped with the package, never fetched from elsewhere."""
_INVALID = "This unsubscribe link is not valid. Nothing was changed."
_GONE = "We no longer hold this address, so there is nothing to unsubscribe."
_UNAVAILABLE = "Unsubscribing is unavailable for a moment. Please try again shortly."


@dataclass(frozen=True)
class _Site:
    """What the handlers share: the store, the signing key and the run's clock."""

    crm: CrmStore
    secret: SecretStr
    now: str | None


def create_app(context: Context) -> Starlette:
    """The app over `context`'s database, signing tokens with `COACHGRAPH_SECRET_KEY`.

    Raises:
        ConfigError: `COACHGRAPH_SECRET_KEY` is unset or too short.
    """
    if context.secret_key is None:
        raise ConfigError(
            "COACHGRAPH_SECRET_KEY is not set: serve needs it to check unsubscribe links"
        )
    secret_bytes(context.secret_key)
    crm = CrmStore(context.db_url, timeouts=context_timeouts(context))
    site = _Site(crm, context.secret_key, context.now)
    routes: list[BaseRoute] = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/u/{token}", _confirm_page, methods=["GET"]),
        Route("/u/{token}", _one_click, methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", signed_in(logout), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        # The Agent Inbox API (SPEC §17): its own authentication, the x-api-key header.
        Mount("/agent-inbox", app=agent_inbox_app(context)),
        *inbox_routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),  # outermost: every response gets the headers
            session_middleware(context.secret_key, context.public_url),
        ],
    )
    app.state.site = site
    app.state.inbox = Inbox(context, crm)
    return app


async def _healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _confirm_page(request: Request) -> Response:
    """The confirmation page: who would stop emailing, and the one button that does it."""
    site: _Site = request.app.state.site
    try:
        sender = await run_in_threadpool(_sender_of, site, request.path_params["token"])
    except UserError as exc:
        return _error_page(exc)
    form = (
        '<form method="post">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    text = f"Stop all emails from {sender}?"
    return _page("Unsubscribe", text, 200, form)


async def _one_click(request: Request) -> Response:
    """RFC 8058: `List-Unsubscribe=One-Click` in the body unsubscribes at once."""
    site: _Site = request.app.state.site
    body = await _read_body(request)
    if body is None:
        return _page("Too large", "The request is too large.", 413)
    if not _is_one_click(request.headers.get("content-type", ""), body):
        return _page("Bad request", f"Expected {ONE_CLICK_BODY} in the request body.", 400)
    try:
        done = await run_in_threadpool(_unsubscribe, site, request.path_params["token"])
    except UserError as exc:
        return _error_page(exc)
    return _page("Unsubscribed", _outcome(done), 200)


_ERROR_PAGES: tuple[tuple[type[UserError], str, str, int], ...] = (
    (TokenError, "Invalid link", _INVALID, 400),
    (NotFoundError, "Nothing to do", _GONE, 404),
    (UserError, "Try again", _UNAVAILABLE, 503),
)
"""Forged or altered token, contact gone, database unavailable (its detail only logged)."""


def _error_page(exc: UserError) -> Response:
    title, text, status = next((t, x, n) for kind, t, x, n in _ERROR_PAGES if isinstance(exc, kind))
    if status >= 500:
        log.error("unsubscribe endpoint unavailable: %s", exc)
    return _page(title, text, status)


def _sender_of(site: _Site, token: str) -> str:
    """The display name of the token's sender; the contact must still exist."""
    contact_id, campaign_id = resolve(token, site.secret)
    if site.crm.get_contact(contact_id) is None:
        raise NotFoundError(f"contact {contact_id!r} no longer exists")
    campaign = site.crm.get_campaign(campaign_id)
    if campaign is None:
        return "us"
    return str(campaign["sender_name"] or campaign["sender_email"])


def _unsubscribe(site: _Site, token: str) -> Unsubscribed:
    return unsubscribe_token(site.crm, token, site.secret, now_from(site.now))


def _outcome(done: Unsubscribed) -> str:
    if not done.changed:
        return "You were already unsubscribed. Nothing was changed."
    return "You are unsubscribed and will receive no more emails from this sender."


async def _read_body(request: Request) -> bytes | None:
    """The request body, or None past `MAX_BODY_BYTES`."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


def _is_one_click(content_type: str, body: bytes) -> bool:
    """True when the body says `List-Unsubscribe=One-Click`, urlencoded or multipart."""
    return _fields(content_type, body).get("List-Unsubscribe") == "One-Click"


def _fields(content_type: str, body: bytes) -> dict[str, str]:
    """Form fields of a urlencoded or multipart/form-data body (RFC 8058 allows both)."""
    if content_type.lower().startswith("multipart/form-data"):
        return _multipart_fields(content_type, body)
    text = body.decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}


def _multipart_fields(content_type: str, body: bytes) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", errors="replace")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.setdefault(name, payload.decode("utf-8", "replace"))
    return fields


def _page(title: str, text: str, status: int, extra: str = "") -> HTMLResponse:
    """A small self-contained page; `title` and `text` are escaped, `extra` is trusted HTML."""
    return HTMLResponse(
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</main>"
        "</body></html>\n",
        status_code=status,
    )


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, a 500 page included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, adding the headers; an unhandled error becomes a plain 500 page."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *_encoded_headers()]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error serving %s", scope.get("path"))
            if started:
                raise
            await _page("Error", "Something went wrong.", 500)(scope, receive, send_with_headers)


def _encoded_headers() -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
