"""Loading the settings: `Context` from the environment, with one-line errors."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.context import Context
from schemas.errors import ConfigError


def load_settings(**overrides: object) -> Context:
    """Read settings, turning a validation failure into a one-line `ConfigError`."""
    try:
        return Context(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    """Name each bad setting by its environment variable, with pydantic's reason."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "settings"
        field = Context.model_fields.get(name)
        alias = field.validation_alias if field else None
        env = alias if isinstance(alias, str) else name.upper()
        value = err.get("input")
        parts.append(f"invalid setting {env}={value!r}: {err['msg']}")
    return "; ".join(parts)
