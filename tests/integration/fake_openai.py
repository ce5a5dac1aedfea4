"""A scripted OpenAI-compatible chat-completions server on loopback, for integration tests.

The real `openai` client talks HTTP to it exactly as it would to DeepSeek or OpenAI, so
the whole model path (SDK, timeouts, status errors, tenacity retries, JSON parsing,
pydantic validation) runs for real. Only the answers are scripted.

Each request to ``POST /v1/chat/completions`` (or ``/chat/completions``) is recorded and
answered by one *step*:

- ``Reply(content)`` (or a bare ``str``): a ``chat.completion`` whose
  ``choices[0].message.content`` is ``content``, with ``id``, ``created``, ``model`` and a
  ``usage`` block;
- ``HttpError(status)``: that status with an OpenAI-style ``{"error": {...}}`` body;
- ``Raw(body)``: exactly these bytes (a malformed answer, as from a broken gateway);
- ``Delay(seconds, then)``: wait, then answer with ``then`` (to make the client time out).

Steps come from a responder, ``responder(request_json) -> step``, when one is set, and
otherwise from a queue filled with ``enqueue``. ``by_kind`` builds a responder that
scripts role-plan prompts and draft prompts separately.

Example::

    with FakeOpenAI() as server:
        server.enqueue(HttpError(500), Reply('{"roles": ["composer"]}'))
        ...  # point the client at server.base_url
        assert server.count == 2
"""

from __future__ import annotations

import itertools
import json
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")

FAKE_API_KEY = "sk-test-not-a-real-key"
"""The key test contexts give the client; tests check it never leaks into logs or output."""

RequestKind = Literal["role_plan", "draft", "other"]


@dataclass(frozen=True)
class Reply:
    """Answer 200 with `content` as the assistant message (None sends a null content)."""

    content: str | None
    prompt_tokens: int | None = None
    """Reported prompt tokens; None estimates them from the request's messages."""
    completion_tokens: int | None = None
    """Reported completion tokens; None estimates them from `content`."""


@dataclass(frozen=True)
class HttpError:
    """Answer with an HTTP error status and an OpenAI-style error body."""

    status: int = 500
    message: str = "The server had an error while processing your request."
    type: str = "server_error"


@dataclass(frozen=True)
class Raw:
    """Answer with exactly these bytes, for malformed responses a real gateway can send."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


@dataclass(frozen=True)
class Delay:
    """Wait `seconds` before answering with `then`; stop() cuts the wait short."""

    seconds: float
    then: Step | None = None
    """What to answer after the wait; None answers a plain ``{}`` reply."""


Step = Reply | HttpError | Raw | Delay | str
"""One scripted answer; a bare string is shorthand for ``Reply(content=...)``."""

Responder = Callable[[dict[str, Any]], Step]
"""Chooses the step for a request from its parsed JSON body."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: dict[str, Any]
    """The parsed JSON body (empty when the body was not a JSON object)."""
    kind: RequestKind
    """What the prompt asks for, from `request_kind`."""

    def message(self, role: str) -> str:
        """The content of the first message with `role`, or "" when there is none."""
        for msg in self.body.get("messages", []):
            if msg.get("role") == role:
                return str(msg.get("content") or "")
        return ""


def request_kind(body: dict[str, Any]) -> RequestKind:
    """Classify a chat request by its system prompt: a role plan, a draft, or other.

    The role-plan system prompt names the ``"roles"`` field; draft and reply prompts
    name ``"subject"``.
    """
    system = next(
        (
            str(m.get("content") or "")
            for m in body.get("messages", [])
            if m.get("role") == "system"
        ),
        "",
    )
    if '"roles"' in system:
        return "role_plan"
    if '"subject"' in system:
        return "draft"
    return "other"


class _ScriptedSteps:
    """Steps answered in order; the last one repeats for every later request."""

    def __init__(self, steps: Step | Sequence[Step]) -> None:
        listed = (
            [steps] if isinstance(steps, Reply | HttpError | Raw | Delay | str) else list(steps)
        )
        if not listed:
            raise ValueError("a scripted sequence needs at least one step")
        self._steps = listed
        self._served = 0
        self._lock = threading.Lock()

    def next(self) -> Step:
        with self._lock:
            step = self._steps[min(self._served, len(self._steps) - 1)]
            self._served += 1
            return step


def by_kind(
    *,
    role_plan: Step | Sequence[Step] | None = None,
    draft: Step | Sequence[Step] | None = None,
    other: Step | Sequence[Step] | None = None,
) -> Responder:
    """A responder that scripts each request kind separately.

    Each argument is one step (answered every time) or a sequence of steps (answered in
    order, the last one repeating). A kind left as None answers ``HttpError(500)`` with a
    message saying it was not scripted, so an unexpected call shows up as a failure.
    """
    scripts = {
        kind: _ScriptedSteps(steps) if steps is not None else None
        for kind, steps in (("role_plan", role_plan), ("draft", draft), ("other", other))
    }

    def respond(body: dict[str, Any]) -> Step:
        script = scripts[request_kind(body)]
        if script is None:
            return HttpError(500, f"fake_openai: no script for {request_kind(body)} requests")
        return script.next()

    return respond


class _Handler(BaseHTTPRequestHandler):
    """One request: record it, pick a step, answer it. HTTP/1.0, one request per connection."""

    server: _Server
    timeout = 10  # seconds a read may block, so a stalled client cannot pin a thread

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = _parse_object(raw)
        if self.path.split("?", 1)[0] not in CHAT_PATHS:
            self._send_json(404, _error_body(f"no route for POST {self.path}", "not_found"))
            return
        step = fake._record_and_pick(self.path, dict(self.headers.items()), body)
        self._answer(step, body)

    def do_GET(self) -> None:
        self._send_json(404, _error_body(f"no route for GET {self.path}", "not_found"))

    def _answer(self, step: Step, body: dict[str, Any]) -> None:
        fake = self.server.fake
        while isinstance(step, Delay):
            if fake._stopping.wait(step.seconds):
                return  # shutting down: drop the connection without an answer
            step = step.then if step.then is not None else Reply("{}")
        if isinstance(step, str):
            step = Reply(step)
        if isinstance(step, HttpError):
            self._send_json(step.status, _error_body(step.message, step.type))
        elif isinstance(step, Raw):
            self._send_bytes(step.status, step.body, step.content_type)
        else:
            self._send_json(200, fake._completion(step, body))

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output is for the code under test."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 resets bursts of concurrent clients
    block_on_close = False  # stop() joins handler threads itself, with a time limit

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a slow resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_tracked, args=(request, client_address), daemon=True
        )
        self.fake._track(thread)
        thread.start()

    def _serve_tracked(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.fake._untrack(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has hung up; writing to it fails, and that is expected.
        self.fake._note_handler_error()


class FakeOpenAI:
    """A scripted OpenAI-compatible server on 127.0.0.1, on a free port, in a thread.

    Use it as a context manager or call `start()` and `stop()`. `base_url` ends in
    ``/v1`` like the real APIs. Every chat request is kept in `requests`.
    """

    def __init__(
        self,
        *,
        script: Iterable[Step] = (),
        responder: Responder | None = None,
        join_timeout_s: float = 5.0,
    ) -> None:
        self._queue: deque[Step] = deque(script)
        self._responder = responder
        self._join_timeout_s = join_timeout_s
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._handler_threads: set[threading.Thread] = set()
        self._handler_errors = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.unscripted = 0
        """Requests that found neither a responder nor a queued step (answered 500)."""

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        """Bind a free loopback port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("FakeOpenAI is already running")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait (bounded) for handlers, waking any that are mid-delay.

        Safe to call twice and safe while a delayed answer is in flight: the delay is cut
        short and that connection is closed without an answer.
        """
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(self._join_timeout_s)
        deadline = time.monotonic() + self._join_timeout_s
        for handler in self._snapshot_threads():
            handler.join(max(0.0, deadline - time.monotonic()))
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running; call start() first")
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}/v1"

    def enqueue(self, *steps: Step) -> None:
        """Append steps to the queue used when no responder is set."""
        with self._lock:
            self._queue.extend(steps)

    def set_responder(self, responder: Responder | None) -> None:
        """Answer every later request with `responder` (None goes back to the queue)."""
        with self._lock:
            self._responder = responder

    # -- what the server saw ---------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every chat request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def count(self) -> int:
        """How many chat requests have been received."""
        with self._lock:
            return len(self._requests)

    def requests_of(self, kind: RequestKind) -> list[RecordedRequest]:
        """The recorded requests of one kind (see `request_kind`)."""
        return [r for r in self.requests if r.kind == kind]

    def count_of(self, kind: RequestKind) -> int:
        """How many requests of one kind were received."""
        return len(self.requests_of(kind))

    @property
    def handler_errors(self) -> int:
        """Handlers that failed to answer (normally a client that hung up after a timeout)."""
        with self._lock:
            return self._handler_errors

    # -- used by the handler ---------------------------------------------------------

    def _record_and_pick(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Step:
        recorded = RecordedRequest(
            path=path,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            kind=request_kind(body),
        )
        with self._lock:
            self._requests.append(recorded)
            responder = self._responder
            if responder is None:
                if self._queue:
                    return self._queue.popleft()
                self.unscripted += 1
                return HttpError(500, "fake_openai: script exhausted")
        return responder(body)

    def _completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        prompt_tokens = reply.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = _estimate_tokens(
                " ".join(str(m.get("content") or "") for m in body.get("messages", []))
            )
        completion_tokens = reply.completion_tokens
        if completion_tokens is None:
            completion_tokens = _estimate_tokens(reply.content or "")
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or "fake-model"),
            "system_fingerprint": "fp_fake_openai",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _track(self, thread: threading.Thread) -> None:
        with self._lock:
            self._handler_threads.add(thread)

    def _untrack(self, thread: threading.Thread) -> None:
        with self._lock:
            self._handler_threads.discard(thread)

    def _snapshot_threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._handler_threads)

    def _note_handler_error(self) -> None:
        with self._lock:
            self._handler_errors += 1


def _parse_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _error_body(message: str, error_type: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)
