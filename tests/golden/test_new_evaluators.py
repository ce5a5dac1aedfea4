"""Issue 12's evaluators on hand-written drafts, good and bad, for records of the new sets.

The sequence and reply sets are under the 0.80 gate (`test_golden_evals`). This module
proves the evaluators discriminate — every good draft passes every check of its set, every
bad one fails the check named — and that the targets run the real orchestrator.
"""

from __future__ import annotations

from typing import Any

import pytest

from coachgraph.config.settings import load_settings
from evals import evaluators as ev
from evals.datasets import load_datasets, spec_for
from evals.runner import run_evals
from schemas.context import Context

pytestmark = pytest.mark.golden
UNSUB = "If you'd rather not hear from me, reply \"unsubscribe\" and I won't email you again."
SIGNATURE = f"Warmly,\nSam Rivera\nCoachgraph\n\n{UNSUB}"


def record(dataset: str, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record's inputs and reference outputs, read from its packaged dataset."""
    [data] = load_datasets([dataset])
    [found] = [r for r in data.records if r.id == record_id]
    return dict(found.inputs), dict(found.reference_outputs)


def body(*paragraphs: str) -> str:
    return "\n\n".join(["Hi Ana,", *paragraphs, SIGNATURE])


GOOD_SEQUENCE = [
    (
        "Northwind Logistics and sales follow-up",
        body(
            "I'm Sam from Coachgraph, and I'm reaching out because Northwind Logistics opened "
            "a second cross-dock warehouse in Lyon in January 2026.",
            "More sites usually means more customer conversations to keep track of. Would you "
            "be open to a 20-minute walkthrough next week?",
        ),
        ["Northwind Logistics opened a second cross-dock warehouse in Lyon in January 2026"],
    ),
    (
        "Less manual follow-up for your sales team",
        body(
            "With 14 dispatch coordinators joining this quarter, your sales team will field "
            "more handovers than before.",
            "Coachgraph helps sales teams cut manual follow-up work, so your reps spend their "
            "afternoons with customers instead of in their inboxes. Worth a 20-minute look?",
        ),
        ["Northwind Logistics is hiring 14 dispatch coordinators this quarter"],
    ),
    (
        "How a carrier handled the same growth",
        body(
            "A regional carrier we work with reduced the hours its account managers spent on "
            "follow-up emails within a quarter of switching.",
            "Happy to show you how they set it up in a 20-minute walkthrough. Does next week "
            "suit you?",
        ),
        [],
    ),
    (
        "One question about retail accounts",
        body(
            "With 320 retail customers across France and Belgium on your books, how does "
            "your team decide which accounts get a follow-up first?",
        ),
        ["Northwind Logistics serves 320 retail customers across France and Belgium"],
    ),
    (
        "A checklist for follow-up at scale",
        body(
            "I put together a short checklist on keeping follow-up consistent while a sales "
            "team grows; happy to send it over if it would help.",
            "And if a 20-minute walkthrough is more useful, just say so.",
        ),
        [],
    ),
    (
        "Closing the loop",
        body(
            "This is my last note for now: I don't want to crowd your inbox while the team is "
            "busy.",
            "If cutting manual follow-up becomes a priority later, a reply to this email is "
            "all it takes.",
        ),
        [],
    ),
]


def sequence_outputs(touches: list[tuple[str, str, list[str]]]) -> dict[str, Any]:
    return {
        "action": "sequence",
        "touches": [
            {"touch": n, "action": "compose", "subject": s, "body": b, "facts_used": f}
            for n, (s, b, f) in enumerate(touches, start=1)
        ],
        "plan": {"angle": "Cutting manual follow-up work for growing sales teams", "tone": "warm"},
        "sender_name": "Sam Rivera",
        "sender_company": "Coachgraph",
    }


@pytest.mark.parametrize("evaluator", ev.SEQUENCE, ids=lambda e: e.__name__)
def test_a_good_sequence_passes_every_sequence_check(evaluator: ev.Evaluator) -> None:
    inputs, ref = record("sequences", "seq-northwind")
    result = evaluator(inputs, sequence_outputs(GOOD_SEQUENCE), ref)
    assert result["score"] == 1.0, result


def repeated_sequence() -> list[tuple[str, str, list[str]]]:
    """The composer's old habit: touch 3 repeats touch 1 and touch 6 re-quotes its fact."""
    bad = list(GOOD_SEQUENCE)
    bad[2] = GOOD_SEQUENCE[0]
    subject, text, _ = GOOD_SEQUENCE[5]
    fact = "I read that Northwind Logistics opened a second cross-dock warehouse in Lyon."
    bad[5] = (subject, text.replace("This is my last note", f"{fact} This is my last note"), [])
    return bad


BAD_SEQUENCES = [
    (repeated_sequence(), ev.novelty, "touches 1 and 3 repeat a body"),
    (repeated_sequence(), ev.novelty, "touches 1 and 3 open alike"),
    (repeated_sequence(), ev.novelty, "touches 1 and 6 both quote"),
    (repeated_sequence(), ev.touch_purpose, "touch 3: reads as no proof touch"),
    (
        [*GOOD_SEQUENCE[:5], GOOD_SEQUENCE[1]],
        ev.touch_purpose,
        "touch 6: reads as no closing touch",
    ),
    (
        [GOOD_SEQUENCE[5], *GOOD_SEQUENCE[1:]],
        ev.touch_purpose,
        "says goodbye in a introduction touch",
    ),
]


@pytest.mark.parametrize(("touches", "evaluator", "why"), BAD_SEQUENCES)
def test_a_bad_sequence_fails_the_check_it_breaks(
    touches: list[tuple[str, str, list[str]]], evaluator: ev.Evaluator, why: str
) -> None:
    inputs, ref = record("sequences", "seq-northwind")
    result = evaluator(inputs, sequence_outputs(touches), ref)
    assert result["score"] == 0.0, result
    assert why in result["comment"]


def reply(subject: str | None, text: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "action": "reply" if text else "skip",
        "subject": subject,
        "body": text,
        "plan": {"angle": None, "tone": "warm"},
        "sender_name": "Sam Rivera",
        "sender_company": "Coachgraph",
    } | extra


GOOD_REPLIES = {
    "rep-es-pricing": reply(
        "Re: Quick idea for Tiendalia",
        "Hola Lucía:\n\nGracias por su respuesta. El precio depende del número de usuarios; "
        "para un equipo de 12 personas le enviaré hoy mismo la tarifa exacta.\n\n"
        "¿Le parece bien que lo veamos en una llamada de 20 minutos?\n\nSaludos,\nSam Rivera"
        "\n\nSi prefiere no recibir más correos, responda «baja» y no le escribiré más.",
    ),
    "rep-de-timing": reply(
        "Re: Quick idea for Fertigwerk",
        "Hallo Jonas,\n\nvielen Dank für Ihre Rückmeldung. Dann melde ich mich im Q2 noch "
        "einmal bei Ihnen, wenn es besser passt.\n\nViele Grüße\nSam Rivera\n\n"
        "Wenn Sie keine weiteren E-Mails wünschen, antworten Sie einfach mit „abmelden“.",
    ),
    "rep-fr-referral": reply(
        "Re: Quick idea for Atelier Nord",
        "Bonjour Camille,\n\nmerci pour votre réponse et pour le contact. Je vais écrire à "
        "Maria Lopez de votre part, sans vous mettre en copie.\n\nBien cordialement,\n"
        "Sam Rivera\n\nSi vous ne souhaitez plus recevoir mes messages, répondez « stop ».",
    ),
    "rep-en-salesforce": reply(
        "Re: Quick idea for Harborline",
        "Hi Ethan,\n\nYes: it works with Salesforce. It reads and writes activities and "
        "contacts through Salesforce's own connector, so nothing changes for your team.\n\n"
        "Would a 20-minute walkthrough next week help?\n\nBest,\nSam Rivera\n\n" + UNSUB,
    ),
    "rep-en-optout": reply(None, None),
    "rep-en-ooo": reply(None, None, skip_reason="autoreply"),
}
BAD_REPLIES = [
    (
        "rep-es-pricing",
        reply(
            "Re: Quick idea for Tiendalia",
            "Hi Lucía,\n\nThank you for your note. Would Tuesday or Thursday next week work "
            "for a 20-minute call?\n\n" + UNSUB,
        ),
        {"reply_relevance": "says nothing about price", "language_match": "reply in en"},
    ),
    (
        "rep-de-timing",
        reply(
            "Re: Quick idea for Fertigwerk",
            "Hallo Jonas,\n\nvielen Dank, ich verstehe, dass es später besser passt. Hätten Sie "
            "trotzdem nächste Woche Zeit für einen kurzen Anruf?\n\n"
            "Wenn Sie keine weiteren E-Mails wünschen, antworten Sie mit „abmelden“.",
        ),
        {"reply_relevance": "asks to meet 'nächste Woche'"},
    ),
    (
        "rep-fr-referral",
        reply(
            "Re: Quick idea for Atelier Nord",
            "Bonjour Camille,\n\nmerci pour votre message. Seriez-vous disponible pour un "
            "appel de 20 minutes la semaine prochaine ?\n\nRépondez « stop » pour ne plus "
            "recevoir de messages.",
        ),
        {"reply_relevance": "does not address the referral to Maria Lopez"},
    ),
    (
        "rep-en-salesforce",
        reply(
            "Re: Re: Quick idea for Harborline",
            "Hi ETHAN,\n\nThanks for your note about “Does this work with Salesforce?”. We offer "
            "a 20-minute walkthrough. Would 30 minutes next week work?\n\n" + UNSUB,
        ),
        {
            "reply_relevance": "does not mention Salesforce",
            "subject_clean": "stacked reply prefix",
            "names_cased": "'ETHAN'",
            "cta_matches_offer": "asks for 30 minutes",
        },
    ),
    (
        "rep-en-optout",
        reply(
            "Re: Quick idea for Oakridge",
            "Hi Grace,\n\nSorry to hear that. Before you go, would a 20-minute call help?\n\n"
            + UNSUB,
        ),
        {"reply_relevance": "replied to an opt-out message"},
    ),
    (
        "rep-en-ooo",
        reply("Re: Automatic reply", "Hi Daniel,\n\nThanks! Talk soon.\n\n" + UNSUB),
        {"reply_relevance": "replied to an out-of-office message"},
    ),
]


@pytest.mark.parametrize("record_id", GOOD_REPLIES)
@pytest.mark.parametrize("evaluator", ev.REPLY, ids=lambda e: e.__name__)
def test_a_good_reply_passes_every_reply_check(record_id: str, evaluator: ev.Evaluator) -> None:
    inputs, ref = record("replies", record_id)
    result = evaluator(inputs, GOOD_REPLIES[record_id], ref)
    assert result["score"] == 1.0, (record_id, result)


@pytest.mark.parametrize(("record_id", "out", "expected"), BAD_REPLIES, ids=lambda x: x)
def test_a_bad_reply_fails_each_check_it_breaks(
    record_id: str, out: dict[str, Any], expected: dict[str, str]
) -> None:
    inputs, ref = record("replies", record_id)
    results = {e.__name__: e(inputs, out, ref) for e in ev.REPLY}
    for key, why in expected.items():
        assert results[key]["score"] == 0.0, (key, results[key])
        assert why in results[key]["comment"], (key, results[key])


@pytest.fixture
def offline(clean_env: None) -> Context:
    return load_settings()


def test_the_new_sets_run_the_real_orchestrator_end_to_end(offline: Context) -> None:
    """Every example runs, and every touch of a sequence too (the gate is test_golden_evals')."""
    run = run_evals(load_datasets(["sequences", "replies"]), offline)
    for path in run.paths:
        assert not [e.id for e in path.examples if any("target failed" in f for f in e.failures)]
    [sequences, replies] = run.paths
    assert len(sequences.examples) == len(load_datasets(["sequences"])[0].records) >= 10
    wanted = {r.id: r.inputs.get("touches") or 6 for r in load_datasets(["sequences"])[0].records}
    assert all(len(e.outputs["touches"]) == wanted[e.id] for e in sequences.examples)
    assert {k for e in replies.examples for k in e.scores} == {e.__name__ for e in ev.REPLY}


def test_the_new_sets_are_under_the_gate() -> None:
    assert spec_for("sequences").gated and spec_for("replies").gated
    assert {spec_for("sequences").name, spec_for("replies").name} <= {
        d.spec.name for d in load_datasets()
    }
