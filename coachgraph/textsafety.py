"""What CRM or inbound text may never carry into a draft: template markers and instructions."""

from __future__ import annotations

import re

# Three marker kinds a template can leave behind: {{ jinja }}, {python} and [Bracket Words].
MARKER_PATTERNS = (
    re.compile(r"\{\{.*?\}\}", re.DOTALL),
    re.compile(r"\{[^{}\n]{0,60}\}"),
    re.compile(r"\[\s*[A-Za-z][A-Za-z _.\-]{0,40}\s*\]"),
)
# Text that addresses a reader (an AI, a system) or names an address, rather than stating a fact.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|override|forget)\b.{0,40}\b(instruction|rule|prompt|previous|above)s?\b"
    r"|\b(assistant|system prompt|system|ai)\s*:"
    r"|\b(cc|bcc|forward|send)\b.{0,40}@"
    r"|[\w.+-]+@[\w-]+\.[\w.]+",
    re.IGNORECASE,
)


def find_markers(text: str) -> list[str]:
    """Every unresolved template marker in `text`, in order of appearance."""
    found: list[tuple[int, str]] = []
    for pattern in MARKER_PATTERNS:
        for match in pattern.finditer(text):
            if not any(start <= match.start() < start + len(m) for start, m in found):
                found.append((match.start(), match.group(0)))
    return [m for _, m in sorted(found)]


def has_marker(text: str) -> bool:
    """True when `text` holds any template marker."""
    return bool(find_markers(text))


def looks_like_instruction(text: str) -> bool:
    """True when `text` reads like an instruction or carries an email address."""
    return bool(_INSTRUCTION.search(text))


def why_unquotable(text: str) -> str | None:
    """Why a piece of CRM or inbound text must not be quoted in an email, or None."""
    if has_marker(text):
        return "holds a template marker"
    if looks_like_instruction(text):
        return "reads like an instruction or holds an address, not data to quote"
    return None
