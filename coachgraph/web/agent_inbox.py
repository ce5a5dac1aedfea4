"""The LangGraph server API subset the official Agent Inbox UI calls (SPEC §17, "For Agent Inbox").

`agent_inbox_app(context)` is mounted at `/agent-inbox`; point Agent Inbox's deployment
URL there, with graph id `campaign` and `COACHGRAPH_API_KEY` as its API key. Routes:

- `GET /info`, `POST /assistants/search`, `GET /assistants/{id}`: the one graph.
- `POST /threads/search`, `GET /threads/{id}`, `GET /threads/{id}/state`,
  `POST /threads/{id}/history`: campaign threads by status (`interrupted` = a draft
  waits on a person).
- `POST /threads/{id}/runs`, `.../runs/wait`, `.../runs/stream`: resume with
  `command.resume = [HumanResponse]`, applied at once through `decide`.
- `POST /threads/{id}/state`: "mark as resolved" (skips the touch; see agent_inbox_runs).

Every request needs `x-api-key: COACHGRAPH_API_KEY`. Browsers call it from Agent Inbox's
own origin, so CORS allows any origin: the key travels in a header a page must be given
explicitly, never in a cookie, so another site gains nothing by calling it.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from coachgraph.runner.campaigns import CampaignRuntime, campaign_runtime
from coachgraph.web.agent_inbox_runs import (
    BadRequest,
    StaleInterrupt,
    check_assistant,
    resolve_thread,
    resume_thread,
)
from coachgraph.web.agent_inbox_threads import (
    ASSISTANT_ID,
    GRAPH_ID,
    get_thread,
    search_threads,
    thread_state,
)
from schemas.context import Context
from schemas.errors import ConfigError, NotFoundError, UserError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
"""An edited email is a few kilobytes; anything past this is refused."""
_NO_KEY = (
    "COACHGRAPH_API_KEY is not set, so the Agent Inbox API is off: "
    "set it and restart `coachgraph serve`"
)
_BAD_KEY = "missing or wrong x-api-key header: give Agent Inbox the value of COACHGRAPH_API_KEY"
_STATUS_OF: tuple[tuple[type[UserError], int], ...] = (
    (NotFoundError, 404),
    (BadRequest, 422),
    (StaleInterrupt, 409),
    (ConfigError, 503),
    (UserError, 409),
)
"""The most specific class first: a refused decision is a conflict with the thread's state."""


def agent_inbox_app(context: Context) -> Starlette:
    """The sub-application over `context`'s database, behind `COACHGRAPH_API_KEY`."""
    routes = [
        Route("/info", _info, methods=["GET"]),
        Route("/assistants/search", _assistants_search, methods=["POST"]),
        Route("/assistants/{assistant_id}", _assistant, methods=["GET"]),
        Route("/threads/search", _threads_search, methods=["POST"]),
        Route("/threads/{thread_id}", _thread, methods=["GET"]),
        Route("/threads/{thread_id}/state", _state, methods=["GET"]),
        Route("/threads/{thread_id}/state", _resolve, methods=["POST"]),
        Route("/threads/{thread_id}/history", _history, methods=["GET", "POST"]),
        Route("/threads/{thread_id}/runs", _run, methods=["POST"]),
        Route("/threads/{thread_id}/runs/wait", _run_wait, methods=["POST"]),
        Route("/threads/{thread_id}/runs/stream", _run_stream, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.context = context
    app.add_middleware(RequireApiKey, key=context.api_key)
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"]
    )
    return app


class RequireApiKey:
    """ASGI middleware: refuse every request without the right `x-api-key` (503 when unset)."""

    def __init__(self, app: ASGIApp, key: SecretStr | None) -> None:
        self.app = app
        self.key = (key.get_secret_value() if key else "").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on only when its key matches, compared in constant time."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-api-key", b"")
        if not self.key:
            await _error(503, _NO_KEY)(scope, receive, send)
        elif not hmac.compare_digest(given, self.key):
            await _error(401, _BAD_KEY)(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _info(_request: Request) -> Response:
    return _json({"version": "coachgraph", "flags": {"assistants": True, "crons": False}})


async def _assistants_search(_request: Request) -> Response:
    return _json([_assistant_json()])


async def _assistant(request: Request) -> Response:
    try:
        check_assistant({"assistant_id": request.path_params["assistant_id"]})
    except UserError as exc:
        return _refusal(exc)
    return _json(_assistant_json())


async def _threads_search(request: Request) -> Response:
    return await _answer(request, lambda rt, body: search_threads(rt, body), with_body=True)


async def _thread(request: Request) -> Response:
    public = request.path_params["thread_id"]
    return await _answer(request, lambda rt, _: get_thread(rt, public))


async def _state(request: Request) -> Response:
    public = request.path_params["thread_id"]
    return await _answer(request, lambda rt, _: thread_state(rt, public))


async def _history(request: Request) -> Response:
    """Only the latest state: a finished run prunes the checkpoints before it."""
    public = request.path_params["thread_id"]
    return await _answer(request, lambda rt, _: [thread_state(rt, public)])


async def _resolve(request: Request) -> Response:
    public = request.path_params["thread_id"]
    return await _answer(request, lambda rt, body: resolve_thread(rt, public, body), True)


async def _run(request: Request) -> Response:
    public = request.path_params["thread_id"]
    return await _answer(request, lambda rt, b: resume_thread(rt, public, b)["run"], True)


async def _run_wait(request: Request) -> Response:
    public = request.path_params["thread_id"]
    return await _answer(request, lambda rt, b: resume_thread(rt, public, b)["values"], True)


async def _run_stream(request: Request) -> Response:
    """The run as server-sent events; a refused decision is an `error` event with its reason.

    Agent Inbox shows an `error` event's data to the person, while an HTTP error only
    reads "Failed to submit response": so a refusal the thread survives (a bad edit, a
    draft that changed) streams, and an unknown thread or a bad body stays an HTTP error.
    """
    public = request.path_params["thread_id"]
    body = await _body(request)
    if isinstance(body, Response):
        return body
    run_id = str(uuid.uuid4())
    events: list[tuple[str, Any]] = [("metadata", {"run_id": run_id, "attempt": 1})]
    try:
        done = await run_in_threadpool(_with_runtime, request, resume_thread, public, body)
    except (NotFoundError, BadRequest) as exc:
        return _refusal(exc)
    except UserError as exc:
        events.append(("error", {"error": type(exc).__name__, "message": str(exc)}))
    else:
        events.append(("values", done["values"]))
    text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return Response(text, media_type="text/event-stream")


async def _answer(
    request: Request, handler: Callable[[CampaignRuntime, Any], Any], with_body: bool = False
) -> Response:
    """Run `handler(runtime, body)` off the event loop; a user error becomes its JSON status."""
    body: Any = None
    if with_body:
        body = await _body(request)
        if isinstance(body, Response):
            return body
    try:
        return _json(await run_in_threadpool(_with_runtime, request, handler, body))
    except UserError as exc:
        return _refusal(exc)


def _with_runtime(request: Request, handler: Callable[..., Any], *args: Any) -> Any:
    with campaign_runtime(request.app.state.context) as rt:
        return handler(rt, *args)


async def _body(request: Request) -> dict[str, Any] | Response:
    """The JSON object a POST carries, or the 413/422 response that refuses it."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        return _error(422, f"request body is not JSON ({exc})")
    return body if isinstance(body, dict) else _error(422, "request body must be a JSON object")


def _refusal(exc: UserError) -> Response:
    status = next(code for kind, code in _STATUS_OF if isinstance(exc, kind))
    if status == 503:
        log.error("agent inbox API unavailable: %s", exc)
    return _error(status, str(exc))


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _json(data: Any) -> Response:
    return Response(json.dumps(data, default=str), media_type="application/json")


def _assistant_json() -> dict[str, Any]:
    return {
        "assistant_id": ASSISTANT_ID,
        "graph_id": GRAPH_ID,
        "name": GRAPH_ID,
        "description": "coachgraph campaign threads: one per contact, a person approves each email",
        "config": {},
        "context": {},
        "metadata": {},
        "version": 1,
        "created_at": "1970-01-01T00:00:00+00:00",
        "updated_at": "1970-01-01T00:00:00+00:00",
    }
