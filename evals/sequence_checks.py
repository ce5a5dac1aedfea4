"""A whole sequence for one contact: each touch new, each touch doing its position's job.

A sequence record's outputs carry `touches`: one entry per touch, in order, each
`{"touch": n, "subject": str | None, "body": str | None, "facts_used": [str], "action": str}`
(see `evals/datasets.py`). A single-touch record (`inputs.touch`, `outputs.body`) is checked
as a sequence of one for its purpose.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from evals.scoring import (
    Evaluator,
    Score,
    facts_used_in,
    normalised,
    score,
    sentences,
    why_not,
    words,
)
from nodes.email.text_rules import has_opt_out_line

PURPOSES = {1: "introduction", 2: "value", 3: "proof", 4: "question", 5: "resource", 6: "closing"}
"""SPEC §6: the job of each touch of a six-touch sequence."""
_I = re.IGNORECASE
_S = r"[^.!?\n]"  # within one sentence
# Each purpose's recognisable signs: phrases, never a lone keyword, in their common wordings.
MARKERS: dict[str, tuple[re.Pattern[str], ...]] = {
    "introduction": (
        re.compile(rf"\b(i'?m|i am|my name is)\b{_S}{{0,40}}\b(from|at|with|and i)\b", _I),
        re.compile(
            rf"\b(reaching out|writing|getting in touch|contacting you)\b{_S}{{0,40}}"
            r"\b(because|since|as|about|to|after)\b",
            _I,
        ),
        re.compile(r"\bthe reason (i'?m|i am) (writing|reaching out|getting in touch)\b", _I),
        re.compile(r"\bintroduc(e|ing) (myself|us|our (team|company|work))\b", _I),
        re.compile(r"\b(a )?(quick|short|brief|first) (note|hello|introduction|intro)\b", _I),
    ),
    "value": (
        re.compile(
            rf"\b(helps?|helping|lets?|allows?|means)\b{_S}{{0,50}}\b(cut|cutting|reduce|"
            r"reducing|save|saving|spend less|free up|freeing up|avoid|speed up|stop|"
            r"get back|win back|without)\b",
            _I,
        ),
        re.compile(
            r"\b(save|saves|saving|cut|cuts|cutting|reduce|reduces|reducing|free up|frees up|"
            r"freeing up)\s+(\w+\s+){0,3}(hours?|time|work|admin|effort|costs?|manual|steps|"
            r"errors|busywork)\b",
            _I,
        ),
        re.compile(r"\bthe (payoff|upshot|benefit|value|gain) (for you|for your team|is)\b", _I),
        re.compile(r"\bso (that )?(you|your team|your reps|your people)\b", _I),
    ),
    "proof": (
        re.compile(
            rf"\b(customers?|clients?|teams?|companies|firms?|one of our|"
            rf"(a|an|one) (\w+[ -]){{0,2}}(team|company|firm|group|provider|carrier|retailer|"
            rf"client|customer|operator|practice|network|chain))\b{_S}{{0,80}}\b(reduced|saved|"
            r"increased|grew|doubled|halved|improved|went from|dropped|raised|lifted|shortened|"
            r"saw|recovered|were able to|managed to|(have|has|had) cut|cut \w+( \w+)? by)\b",
            _I,
        ),
        re.compile(r"\bcase study\b", _I),
        re.compile(rf"\b(results?|outcomes?)\b{_S}{{0,40}}\d+\s?(%|percent|x\b|hours|days)", _I),
    ),
    "resource": (
        re.compile(
            rf"\b(share|sharing|send|sending|attached|attaching|link|linked|here'?s|here is|"
            r"put together|wrote up|pulled together|thought you might|might find|may find|"
            rf"worth a read|download){_S}{{0,60}}\b(guide|checklist|playbook|template|"
            r"case study|whitepaper|white paper|report|article|write-?up|one-pager|benchmark|"
            r"resource|video|recording|webinar|toolkit|worksheet|e-?book|slides|deck)s?\b",
            _I,
        ),
        re.compile(
            r"\b(guide|checklist|playbook|template|whitepaper|report|article|write-?up|"
            rf"one-pager|benchmark|resource|video|toolkit|worksheet)s?\b{_S}{{0,60}}"
            r"(https?://|\b(attached|linked|below|here)\b)",
            _I,
        ),
    ),
    "closing": (
        re.compile(r"\b(this is|this'?ll be|this will be) (my|the) (last|final) \w+", _I),
        re.compile(r"\b(my|a) (last|final) (note|email|message|follow-?up)\b", _I),
        re.compile(
            r"\b(won'?t|will not|i'?ll stop|i will stop|going to stop)\s+(keep\s+)?"
            r"(reach|email|writ|follow|bother|fill|clutter|nudg)\w*",
            _I,
        ),
        re.compile(r"\b(close|closing) (the loop|out|your file|this thread)\b", _I),
        re.compile(r"\b(leave|leaving) (it|things) (here|there)\b", _I),
    ),
}
FOLLOW_UP = re.compile(
    r"\b(following up|follow up on my|my (last|previous|earlier) (note|email|message)|"
    r"as i (mentioned|wrote)|circling back|bumping this|checking back|in my last)\b",
    _I,
)
_MEETING = re.compile(r"\b(call|chat|meet|meeting|demo|minutes?|calendar|walkthrough)\b", _I)
_YOU = re.compile(r"\b(you|your|you'?re|yours)\b", _I)
SIMILAR_BODIES = 0.5
"""Share of word trigrams two touches may have in common before one repeats the other."""


def touches_of(inputs: dict[str, Any], outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's touches: `outputs.touches`, or the single draft as touch `inputs.touch`."""
    if isinstance(outputs.get("touches"), list):
        return list(outputs["touches"])
    touch = {"touch": inputs.get("touch") or 1, "subject": outputs.get("subject")}
    return [touch | {"body": outputs.get("body"), "facts_used": outputs.get("facts_used", [])}]


def novelty(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
    """No two touches share a body, an opening sentence, a subject or a quoted fact."""
    drafted = [t for t in touches_of(inputs, outputs) if t.get("body")]
    facts = [str(f.get("fact")) for f in inputs.get("facts", [])]
    boilerplate = _shared_paragraphs(drafted)
    names = [*(inputs.get("company") or {}).values(), *(inputs.get("contact") or {}).values()]
    problems = []
    for a, b in itertools.combinations(drafted, 2):
        pair = f"touches {a['touch']} and {b['touch']}"
        problems += [f"{pair} {what}" for what in _repeats(a, b, facts, boilerplate, names)]
    return score("novelty", not problems, "; ".join(problems), f"{len(drafted)} touches, all new")


def _repeats(
    a: dict[str, Any], b: dict[str, Any], facts: list[str], boilerplate: set[str], names: list[Any]
) -> list[str]:
    found = []
    if _similarity(_core(a["body"], boilerplate), _core(b["body"], boilerplate)) >= SIMILAR_BODIES:
        found.append("repeat a body")
    opening = opening_sentence(a["body"])
    if opening and opening == opening_sentence(b["body"]):
        found.append(f"open alike: {opening!r}")
    if a.get("subject") and _bare_subject(a["subject"]) == _bare_subject(b.get("subject") or ""):
        found.append(f"share the subject {a['subject']!r}")
    shared = set(_facts_in(a, facts, names)) & set(_facts_in(b, facts, names))
    found += [f"both quote {fact!r}" for fact in sorted(shared)]
    return found


def _facts_in(touch: dict[str, Any], facts: list[str], names: list[Any]) -> list[str]:
    said = facts_used_in(touch["body"], facts, [str(n) for n in names if n])
    recorded = [f for f in facts if any(normalised(u) in normalised(f) for u in _used(touch))]
    return [*said, *recorded]


def _used(touch: dict[str, Any]) -> list[str]:
    return [str(u) for u in touch.get("facts_used") or [] if normalised(str(u))]


def _paragraphs(body: str) -> list[str]:
    return [normalised(p) for p in body.split("\n\n") if normalised(p)]


def _shared_paragraphs(touches: list[dict[str, Any]]) -> set[str]:
    """Paragraphs every touch carries (signature, opt-out footer): boilerplate, not content."""
    if len(touches) < 2:
        return set()
    return set.intersection(*(set(_paragraphs(t["body"])) for t in touches))


def _core(body: str, boilerplate: set[str]) -> list[str]:
    """The body's words past its greeting line, without the paragraphs every touch carries."""
    paragraphs = _paragraphs(body)
    after_greeting = paragraphs[1:] if len(paragraphs) > 1 else paragraphs
    return " ".join(p for p in after_greeting if p not in boilerplate).split()


def _similarity(a: list[str], b: list[str]) -> float:
    grams_a, grams_b = _trigrams(a), _trigrams(b)
    if not grams_a or not grams_b:
        return 1.0 if a == b else 0.0
    return len(grams_a & grams_b) / min(len(grams_a), len(grams_b))


def _trigrams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def opening_sentence(body: str) -> str | None:
    """The first sentence after the greeting line, normalised."""
    paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
    rest = "\n\n".join(paragraphs[1:]) if len(paragraphs) > 1 else body
    found = sentences(rest)
    return normalised(found[0]) if found else None


def _bare_subject(subject: str) -> str:
    return normalised(re.sub(r"^\s*((re|aw|fwd?|wg|sv)\s*:\s*)+", "", subject, flags=_I))


def touch_purpose(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
    """Each touch's body shows its position's purpose (SPEC §6) and no later touch's closing."""
    if "touches" not in outputs and "reply" in (outputs.get("action"), ref.get("action")):
        return score("touch_purpose", True, "", "a reply, not a campaign touch")
    problems = []
    checked = 0
    for touch in touches_of(inputs, outputs):
        if not touch.get("body"):
            why = why_not(touch) or why_not(outputs)
            problems.append(f"touch {touch.get('touch')}: no draft" + (f" ({why})" if why else ""))
            continue
        checked += 1
        problems += [f"touch {touch['touch']}: {p}" for p in purpose_problems(touch)]
    return score(
        "touch_purpose", not problems, "; ".join(problems), f"{checked} touches on purpose"
    )


def purpose_problems(touch: dict[str, Any]) -> list[str]:
    """What is wrong with one touch's purpose: its own sign missing, or a wrong one present."""
    number, text = int(touch["touch"]), content(touch["body"])
    purpose = PURPOSES.get(number)
    if purpose is None:
        return []
    problems = []
    if purpose == "question":
        problems += _question_problems(text)
    elif not shows(purpose, text):
        problems.append(f"reads as no {purpose} touch (none of its signs)")
    if purpose != "closing" and shows("closing", text):
        problems.append(f"says goodbye in a {purpose} touch")
    if number == 1 and (found := FOLLOW_UP.search(text)):
        problems.append(f"a first touch that follows up ({found.group(0)!r})")
    return problems


def shows(purpose: str, text: str) -> bool:
    """True when the text carries one of the purpose's signs."""
    return any(p.search(text) for p in MARKERS[purpose])


def _question_problems(text: str) -> list[str]:
    questions = [s for s in sentences(text) if s.endswith("?")]
    direct = [q for q in questions if _YOU.search(q) and not _MEETING.search(q)]
    if not direct:
        return ["asks no direct question about their situation (only a meeting, or none)"]
    if len(questions) > 2:
        return [f"asks {len(questions)} questions, not one"]
    return []


def content(body: str) -> str:
    """The body without its greeting line and opt-out sentences (the footer every touch has)."""
    lines = body.strip().splitlines()
    if lines and len(words(lines[0])) <= 5 and lines[0].rstrip().endswith((",", "!", ":")):
        lines = lines[1:]
    kept = [s for s in sentences("\n".join(lines)) if not has_opt_out_line(s)]
    return "\n".join(kept)


def each_touch(evaluator: Evaluator) -> Evaluator:
    """Run a one-draft evaluator on every touch of a sequence; the lowest score counts."""

    def evaluate(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
        results = []
        for touch in touches_of(inputs, outputs):
            single = {k: v for k, v in outputs.items() if k != "touches"} | touch
            results.append((touch.get("touch"), evaluator(inputs | touch, single, ref)))
        failed = [f"touch {n}: {r['comment']}" for n, r in results if r["score"] < 1.0]
        key = results[0][1]["key"] if results else evaluator.__name__
        return score(key, not failed, "; ".join(failed), f"{len(results)} touches ok")

    evaluate.__name__ = evaluator.__name__
    evaluate.__doc__ = f"{evaluator.__doc__} (every touch of the sequence)"
    return evaluate
