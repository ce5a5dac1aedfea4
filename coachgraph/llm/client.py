"""The one model factory: JSON-object calls over the `openai` SDK, validated, bounded.

Every call either returns a validated pydantic object or a clear failure the
caller turns into its fail-open default; nothing here raises for a model that
is down, slow, switched off or talking nonsense.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from coachgraph.config.settings import load_settings
from schemas.context import Context, Tier
from schemas.llm import LLMCall, LLMResult

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

TRANSIENT = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class BadContentError(Exception):
    """The model answered, but not with a JSON object of the asked-for shape."""


class JsonLLM:
    """A model at one tier that answers one JSON object per call."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        timeout_s: float,
        max_attempts: int,
        kill_switch: bool = False,
        retry_wait_s: float = 0.2,
        langsmith_api_key: str | None = None,
        langsmith_project: str | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.kill_switch = kill_switch
        self.retry_wait_s = retry_wait_s
        self._langsmith_api_key = langsmith_api_key
        self.langsmith_project = langsmith_project

    def __repr__(self) -> str:
        return f"JsonLLM(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def unavailable_reason(self) -> str | None:
        """Why no request would be made, or None when the model is reachable in principle."""
        if self.kill_switch:
            return "unavailable: LLM_KILL_SWITCH is on"
        if not self._api_key:
            return "unavailable: no LLM_API_KEY or DEEPSEEK_API_KEY is set"
        return None

    def complete(self, *, system: str, user: str, schema: type[T], purpose: str) -> LLMResult[T]:
        """Ask for one JSON object matching `schema`; never raises for model trouble."""
        if reason := self.unavailable_reason:
            return LLMResult(value=None, error=reason, unavailable=True)
        with _tracing(self._langsmith_api_key, self.langsmith_project):
            return self._complete(system, user, schema, purpose)

    def _complete(self, system: str, user: str, schema: type[T], purpose: str) -> LLMResult[T]:
        traced = self._langsmith_api_key is not None
        client = _client(self.base_url, self._api_key or "", self.timeout_s, traced)
        usage = [0, 0]
        attempts = 0
        started = time.perf_counter()
        value: T | None = None
        error: str | None = None
        try:
            for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    value = self._once(client, system, user, schema, usage)
        except RetryError as exc:
            error = _describe(exc.last_attempt.exception())
        except openai.APIError as exc:
            error = _describe(exc)
        except Exception as exc:  # a model call fails open; it never crashes the node
            log.warning("model call %s failed unexpectedly: %r", purpose, exc)
            error = _describe(exc)
        call = LLMCall(
            purpose=purpose,
            model=self.model,
            ok=value is not None,
            attempts=attempts,
            prompt_tokens=usage[0],
            completion_tokens=usage[1],
            latency_ms=round((time.perf_counter() - started) * 1000),
            error=error,
        )
        log.info("llm call %s", json.dumps(call.as_dict()))
        return LLMResult(value=value, error=error, call=call)

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=self.retry_wait_s, max=2.0) + wait_random(0, 0.1),
            retry=retry_if_exception_type((*TRANSIENT, BadContentError)),
            reraise=False,
        )

    def _once(
        self, client: openai.OpenAI, system: str, user: str, schema: type[T], usage: list[int]
    ) -> T:
        try:
            response = client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object"},
                temperature=0.3,
            )
        except ValueError as exc:  # a 200 whose body is not JSON at all
            raise BadContentError(f"unreadable response body ({type(exc).__name__})") from None
        if not isinstance(response, ChatCompletion):
            raise BadContentError(f"not a chat completion ({type(response).__name__})")
        if response.usage:
            usage[0] += response.usage.prompt_tokens or 0
            usage[1] += response.usage.completion_tokens or 0
        choice = response.choices[0] if response.choices else None
        message = getattr(choice, "message", None)
        return parse_json_object(getattr(message, "content", None), schema)


def parse_json_object(content: str | None, schema: type[T]) -> T:
    """Validate a model's text as one JSON object of `schema`, or raise BadContentError."""
    if not content or not content.strip():
        raise BadContentError("empty response")
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").strip()
        text = text[4:] if text[:4].lower() == "json" else text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadContentError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise BadContentError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadContentError(f"invalid {schema.__name__}: {where}: {first['msg']}") from None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown model failure"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIStatusError):
        return f"http {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, BadContentError):
        return f"bad content: {exc}"
    return f"{type(exc).__name__}: {exc}"


@functools.lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout_s: float, trace: bool) -> openai.OpenAI:
    # The SDK's own retries are off so tenacity's budget is the only one: attempts never multiply.
    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
    if trace:
        from langsmith.wrappers import wrap_openai

        client = wrap_openai(client)
    return client


@contextmanager
def _tracing(api_key: str | None, project: str | None) -> Iterator[None]:
    """Trace to LangSmith only with a key; the key goes to the client, not the environment."""
    if api_key is None:
        yield
        return
    from langsmith import tracing_context

    with tracing_context(enabled=True, client=_langsmith(api_key), project_name=project):
        yield


@functools.lru_cache(maxsize=4)
def _langsmith(api_key: str) -> Any:
    from langsmith import Client

    return Client(api_key=api_key)


def make_llm(tier: Tier = "standard", context: Context | None = None) -> JsonLLM:
    """The model for a tier, configured from the run's context (or the environment)."""
    ctx = context or load_settings()
    return JsonLLM(
        model=ctx.model_for(tier),
        base_url=ctx.llm_base_url,
        api_key=ctx.llm_api_key.get_secret_value() if ctx.llm_api_key else None,
        timeout_s=ctx.llm_timeout_s,
        max_attempts=ctx.llm_max_attempts,
        kill_switch=ctx.llm_kill_switch,
        langsmith_api_key=(
            ctx.langsmith_api_key.get_secret_value() if ctx.langsmith_api_key else None
        ),
        langsmith_project=ctx.langsmith_project,
    )
