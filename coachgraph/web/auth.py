"""Sign-in, sessions and CSRF for the web inbox (SPEC §17), and the page renderer they feed.

A session is a signed cookie (Starlette's SessionMiddleware, keyed from
`COACHGRAPH_SECRET_KEY`) holding the user's name and a per-session CSRF token. Every POST
form but `/login` (and the recipients' `/u/{token}`) must echo that token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from coachgraph.store.crm import CrmStore
from coachgraph.store.users import verify

Handler = Callable[[Request], Awaitable[Response]]
SESSION_COOKIE = "coachgraph_session"
SESSION_MAX_AGE_S = 12 * 3600
"""A working day: after that a person signs in again."""
CSRF_FIELD = "csrf_token"
_BAD_SIGN_IN = "Wrong user name or password."
_CSRF_REFUSED = (
    "This form was refused: its security token is missing or out of date. "
    "Nothing was changed. Go back, reload the page and try again."
)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
"""Autoescaping on for every template: CRM and inbound text is never trusted HTML."""


def session_middleware(secret: SecretStr, public_url: str | None) -> Middleware:
    """Signed-cookie sessions: HttpOnly, SameSite=Lax, Secure when served over https."""
    return Middleware(
        SessionMiddleware,
        secret_key=_session_key(secret),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=(public_url or "").lower().startswith("https://"),
    )


def _session_key(secret: SecretStr) -> str:
    """A key for sessions only, so a session cookie can never pass as an unsubscribe token."""
    key = secret.get_secret_value().encode("utf-8")
    return hmac.new(key, b"coachgraph web session", hashlib.sha256).hexdigest()


def render(request: Request, template: str, status: int = 200, /, **values: Any) -> HTMLResponse:
    """Render a template with the signed-in user and the CSRF token available to it."""
    session = request.session if "session" in request.scope else {}
    page = templates.get_template(template).render(
        user=session.get("user"), csrf_token=session.get("csrf", ""), request=request, **values
    )
    return HTMLResponse(page, status_code=status)


def signed_in(handler: Handler) -> Handler:
    """Only for a signed-in user; a POST must also carry the session's CSRF token."""

    async def guarded(request: Request) -> Response:
        if not request.session.get("user"):
            return _to_login(request)
        if request.method == "POST" and not await _csrf_ok(request):
            return render(request, "message.html", 403, title="Refused", message=_CSRF_REFUSED)
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def _to_login(request: Request) -> Response:
    """A browser goes to the sign-in page (and back afterwards); an API client gets 401."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": "sign in first: POST /login"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _csrf_ok(request: Request) -> bool:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


async def login_page(request: Request) -> Response:
    """The sign-in form."""
    return render(request, "login.html", next=_safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    """Check the name and password; a fresh session (new CSRF token) on success."""
    form = await request.form()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    crm: CrmStore = request.app.state.site.crm
    if not name or not await run_in_threadpool(verify, crm, name, password):
        return render(request, "login.html", 401, error=_BAD_SIGN_IN, next=target, username=name)
    request.session.clear()  # no session fixation: whatever came before is dropped
    request.session.update({"user": name, "csrf": secrets.token_urlsafe(32)})
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never `//other.example` or `https://…`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
