"""Each evaluator against a hand-written passing and failing example, so none passes silently."""

from __future__ import annotations

from typing import Any

import pytest

from evals import evaluators as ev
from nodes.email.language import detect_language

UNSUB = "If you'd rather not hear from me, reply \"unsubscribe\" and I won't email you again."
INPUTS: dict[str, Any] = {
    "contact": {"first_name": "Ana", "last_name": "Lopez", "title": "VP Sales"},
    "company": {
        "domain": "northwind.example",
        "name": "Northwind Logistics",
        "industry": "Logistics",
    },
    "facts": [
        {"fact": "Northwind Logistics opened a warehouse in Lyon in January 2026"},
        {"fact": "Northwind Logistics is hiring 14 dispatch coordinators"},
    ],
    "history": [],
    "plan": {"angle": "Cutting manual follow-up work for sales teams", "tone": "formal"},
    "offer": "a 20-minute walkthrough",
}
REF: dict[str, Any] = {
    "action": "compose",
    "facts_allowed": [f["fact"] for f in INPUTS["facts"]],
    "must_not_claim": ["acquired", "guarantee"],
    "length": {"min_words": 20, "max_words": 120},
    "personalisation": {"first_name": "Ana", "company": "Northwind Logistics", "uses_fact": True},
    "call_to_action": True,
    "unsubscribe_line": True,
}
GOOD_BODY = (
    "Dear Ana Lopez,\n\nI recently read that Northwind Logistics opened a warehouse in Lyon "
    "in January 2026.\n\nThe reason I'm writing: cutting manual follow-up work for sales "
    "teams.\n\nWe offer a 20-minute walkthrough. Would you be available for a brief call next "
    f"Tuesday?\n\nKind regards,\nSam Rivera\nCoachgraph\n\n{UNSUB}"
)


def outputs(
    body: str = GOOD_BODY, subject: str = "Northwind Logistics: sales follow-up", **kw: Any
) -> dict[str, Any]:
    plan = {"angle": INPUTS["plan"]["angle"], "tone": "formal"} | kw.pop("plan", {})
    return {
        "action": "compose",
        "subject": subject,
        "body": body,
        "plan": plan,
        "sender_name": "Sam Rivera",
        "sender_company": "Coachgraph",
    } | kw


def score(evaluator: ev.Evaluator, out: dict[str, Any], ref: dict[str, Any] = REF) -> ev.Score:
    return evaluator(INPUTS, out, ref)


@pytest.mark.parametrize("evaluator", ev.FINAL_RESPONSE)
def test_the_good_email_passes_every_final_response_check(evaluator: ev.Evaluator) -> None:
    result = score(evaluator, outputs())
    assert result["score"] == 1.0, result


@pytest.mark.parametrize("evaluator", ev.FINAL_RESPONSE)
def test_a_blocked_contact_fails_every_final_response_check(evaluator: ev.Evaluator) -> None:
    result = score(evaluator, {"action": "blocked", "blocked_reason": "bounced"})
    assert result["score"] == 0.0
    assert "bounced" in result["comment"]


FAILING = [
    (ev.check_action, outputs(action="reply"), "action 'reply'"),
    (
        ev.no_template_markers,
        outputs(body=GOOD_BODY.replace("Ana Lopez", "{{first_name}}")),
        "{{first_name}}",
    ),
    (ev.no_template_markers, outputs(subject="Idea for [Company Name]"), "[Company Name]"),
    (ev.grounded, outputs(body=GOOD_BODY.replace("January 2026", "January 2025")), "number '2025'"),
    (ev.grounded, outputs(body=GOOD_BODY + "\nTeams at Acme and Globex love it."), "name 'Acme'"),
    (
        ev.grounded,
        outputs(body=GOOD_BODY.replace("opened", "was acquired and opened")),
        "claims 'acquired'",
    ),
    (ev.grounded, outputs(body=GOOD_BODY.replace("Lyon", "Lyon with 300 staff")), "number '300'"),
    (
        ev.length_band,
        outputs(body="Ana, a call? Reply unsubscribe to stop."),
        "words, expected 20–120",
    ),
    (ev.length_band, outputs(body=GOOD_BODY + " more" * 100), "expected 20–120"),
    (
        ev.personalised,
        outputs(body=GOOD_BODY.replace("Ana Lopez", "there")),
        "does not address 'Ana'",
    ),
    (
        ev.personalised,
        outputs(
            subject="Hello",
            body=GOOD_BODY.replace(
                "Northwind Logistics opened a warehouse in Lyon in January 2026",
                "your team is growing",
            ),
        ),
        "uses none of the allowed facts",
    ),
    (
        ev.call_to_action,
        outputs(
            body=GOOD_BODY.replace(
                "Would you be available for a brief call next Tuesday?", "Thanks."
            )
        ),
        "no question",
    ),
    (
        ev.call_to_action,
        outputs(
            body=GOOD_BODY.replace("brief call next Tuesday?", "brief call next Tuesday.")
            + "\nHow is the weather?"
        ),
        "no question",
    ),
    (ev.unsubscribe_line, outputs(body=GOOD_BODY.replace(UNSUB, "")), "no unsubscribe"),
    (
        ev.tone_honoured,
        outputs(body=GOOD_BODY.replace("Dear Ana Lopez,", "Hey Ana!")),
        "not formal",
    ),
    (
        ev.tone_honoured,
        outputs(plan={"tone": "casual"}),
        "'dear' is not casual",
    ),
    (ev.tone_honoured, outputs(body=GOOD_BODY + "\nAct now: last chance!"), "pressure phrase"),
    (
        ev.tone_honoured,
        outputs(plan={"tone": "direct"}, body=GOOD_BODY + " word" * 120),
        "longer than 160",
    ),
    (
        ev.tone_honoured,
        outputs(plan={"tone": "consultative"}, body=GOOD_BODY.replace("?", ".")),
        "asks a question",
    ),
    (
        ev.angle_honoured,
        outputs(
            subject="Hi",
            body=GOOD_BODY.replace("cutting manual follow-up work for sales teams", "our product"),
        ),
        "not reflected",
    ),
]


@pytest.mark.parametrize(
    ("evaluator", "out", "why"), FAILING, ids=lambda x: getattr(x, "__name__", None)
)
def test_each_evaluator_fails_a_hand_written_bad_email(
    evaluator: ev.Evaluator, out: dict[str, Any], why: str
) -> None:
    result = score(evaluator, out)
    assert result["score"] == 0.0, result
    assert why in result["comment"]


def test_durations_and_sentence_starts_are_not_invented_claims() -> None:
    text = "Would a 30-minute call work? Monday works. Happy to help.\nBest,\nSam"
    assert ev.unsupported_numbers(text, "") == []
    assert ev.unsupported_names(text, "Sam") == []
    assert ev.unsupported_numbers("We cut costs by 40%.", "cut costs by 40%") == []
    assert ev.unsupported_numbers("We cut costs by 45%.", "cut costs by 40%") == ["45"]


def test_no_angle_and_no_tone_are_nothing_to_honour() -> None:
    out = outputs(plan={"angle": None, "tone": None}, subject="Hi", body="Hi Ana. " + UNSUB)
    assert score(ev.angle_honoured, out)["score"] == 1.0
    assert score(ev.tone_honoured, out)["score"] == 1.0


def test_exact_match_names_every_differing_field() -> None:
    check = ev.exact_match("verdict_exact", ("passed", "notes"))
    assert check({}, {"passed": True, "notes": []}, {"passed": True, "notes": []})["score"] == 1.0
    bad = check({}, {"passed": True, "notes": []}, {"passed": False, "notes": ["empty body"]})
    assert bad["score"] == 0.0
    assert "passed: got True, expected False" in bad["comment"]
    assert "notes: got [], expected ['empty body']" in bad["comment"]


BASE = [
    "hydrate",
    "load_history",
    "safety_gate",
    "recall_memory",
    "decide_action",
    "research_facts",
    "email_compose",
    "review_draft",
]


def test_node_path_inserts_the_leader_only_when_it_ran() -> None:
    ref = {"path": BASE}
    assert ev.node_path({}, {"path": BASE, "leader": False}, ref)["score"] == 1.0
    led = [*BASE[:5], "plan_roles", *BASE[5:]]
    roles = ["researcher", "composer"]
    assert ev.node_path({}, {"path": led, "leader": True, "role_plan": roles}, ref)["score"] == 1.0
    assert ev.node_path({}, {"path": BASE, "leader": True, "role_plan": roles}, ref)["score"] == 0.0
    no_research = [n for n in led if n != "research_facts"]
    out = {"path": no_research, "leader": True, "role_plan": ["composer"]}
    assert ev.node_path({}, out, ref)["score"] == 1.0
    blocked = {"path": BASE[:3]}
    assert ev.node_path({}, {"path": BASE[:3], "leader": True}, blocked)["score"] == 1.0
    assert ev.node_path({}, {"path": BASE, "leader": False}, blocked)["score"] == 0.0


# Issue 12: the two evaluator bugs, with the strings the issue names.


def test_the_tone_check_reads_whole_words_so_they_is_not_hey() -> None:
    body = GOOD_BODY.replace("The reason", "They told me the reason")
    assert score(ev.tone_honoured, outputs(body=body))["score"] == 1.0
    assert "'hey' is not formal" in score(ev.tone_honoured, outputs(body="Hey Ana, ok."))["comment"]
    casual = outputs(
        plan={"tone": "casual"},
        body=GOOD_BODY.replace("Dear", "Hi").replace("Kind regards", "Best")
        + "\nEndearing, isn't it?",
    )
    assert score(ev.tone_honoured, casual)["score"] == 1.0


AMOUNTS = "Ledgerly raised €18.5M, VoltGrid signed a $2.4B deal, revenue grew 18.5% in Q3"
PERIODS = "The team plans for H1 2026 and ships 3x faster"


def test_amounts_periods_and_multiples_are_not_invented_names() -> None:
    facts = f"{AMOUNTS}. {PERIODS}."
    text = f"Congratulations: {AMOUNTS}, and {PERIODS.lower()}."
    assert ev.unsupported_names(text, facts) == []
    assert ev.unsupported_numbers(text, facts) == []
    assert ev.unsupported_names("We saw that €18.5M, $2.4B, 18.5%, Q3, H1 2026, 3x.", "") == []


def test_a_genuinely_invented_name_is_still_caught() -> None:
    body = GOOD_BODY.replace("The reason", "Teams at Acme Corp raised €18.5M; the reason")
    inputs = INPUTS | {"facts": [*INPUTS["facts"], {"fact": "Northwind raised €18.5M in Q3"}]}
    result = ev.grounded(inputs, outputs(body=body), REF)
    assert result["score"] == 0.0
    assert "name 'Acme'" in result["comment"] and "18.5" not in result["comment"]


def test_keyword_checks_never_match_inside_a_word() -> None:
    inside = GOOD_BODY.replace("Dear Ana Lopez", "Dear Anabel").replace("Ana", "Anabel")
    assert "does not address 'Ana'" in score(ev.personalised, outputs(body=inside))["comment"]
    reacquired = outputs(body=GOOD_BODY.replace("opened", "reacquired and opened"))
    assert score(ev.grounded, reacquired)["score"] == 1.0
    assert (
        score(ev.tone_honoured, outputs(body=GOOD_BODY + "\nNo rush, I'm nowhere near asap."))[
            "comment"
        ]
        == "pressure phrase 'asap'"
    )


# Issue 12: how any draft is written.


@pytest.mark.parametrize(
    ("subject", "why"),
    [
        ("Re: Re: Pricing question", "stacked reply prefix"),
        ("AW: RE: Pricing question", "stacked reply prefix"),
        ("Northwind Logistics: Cutting manual follow-up work for sal", "cut mid-word at 'sal'"),
        ("Northwind Logistics: Cutting manual follow-up work for sal…", "cut mid-word at 'sal'"),
        ("Northwind Logistics: Cutting manual follow-", "cut mid-word"),
    ],
)
def test_a_stacked_or_clipped_subject_fails(subject: str, why: str) -> None:
    result = score(ev.subject_clean, outputs(subject=subject))
    assert result["score"] == 0.0 and why in result["comment"], result


@pytest.mark.parametrize(
    "subject", ["Re: Pricing question", "Northwind Logistics: cutting manual follow-up work…"]
)
def test_a_single_prefix_or_a_whole_last_word_is_a_clean_subject(subject: str) -> None:
    assert score(ev.subject_clean, outputs(subject=subject))["score"] == 1.0


@pytest.mark.parametrize(
    ("stored", "written", "ok"),
    [
        ("MARGARET", "Hi MARGARET,", False),
        ("MARGARET", "Hi Margaret,", True),
        ("margaret", "Hi margaret,", False),
        ("McKenzie", "Hi Mckenzie,", False),
        ("McKenzie", "Hi McKenzie,", True),
    ],
)
def test_names_are_cased_as_people_write_them(stored: str, written: str, ok: bool) -> None:
    inputs = INPUTS | {"contact": INPUTS["contact"] | {"first_name": stored}}
    body = GOOD_BODY.replace("Dear Ana Lopez,", written)
    result = ev.names_cased(inputs, outputs(body=body), REF)
    assert result["score"] == (1.0 if ok else 0.0), result


@pytest.mark.parametrize(
    ("offer", "ask", "ok"),
    [
        ("a 15-minute call", "Worth 20 minutes next week?", False),
        ("a 15-minute call", "Could we find 15 minutes next week?", True),
        ("a 15-minute call", "Do you have half an hour next week?", False),
        ("a half-hour demo", "Would a 30-minute call work?", True),
        ("a short demo", "Worth 20 minutes next week?", True),
    ],
)
def test_the_call_to_action_matches_the_offer(offer: str, ask: str, ok: bool) -> None:
    body = GOOD_BODY.replace(
        "We offer a 20-minute walkthrough. Would you be available for a brief call next Tuesday?",
        ask,
    )
    result = ev.cta_matches_offer(INPUTS | {"offer": offer}, outputs(body=body), REF)
    assert result["score"] == (1.0 if ok else 0.0), result


# Issue 12: replies.

SPANISH_PRICING = (
    "Hola, gracias. ¿Cuánto cuesta para un equipo de 12 personas? Necesitamos el precio."
)


def with_inbound(text: str, subject: str = "Re: idea") -> dict[str, Any]:
    inbound = {"direction": "in", "subject": subject, "body": text, "at": "2026-02-27T15:30:00Z"}
    return INPUTS | {"history": [inbound]}


def test_a_spanish_pricing_question_wants_a_spanish_answer_about_price() -> None:
    inputs, ref = with_inbound(SPANISH_PRICING), {"action": "reply"}
    english = outputs(body="Hi Ana,\n\nThanks for your note. Would a 20-minute call work?")
    assert "reply in en, inbound in es" in ev.language_match(inputs, english, ref)["comment"]
    assert "says nothing about price" in ev.reply_relevance(inputs, english, ref)["comment"]
    spanish = outputs(
        body="Hola Ana:\n\nGracias por su mensaje. El precio para un equipo de 12 personas "
        "depende de los usuarios; se lo envío hoy mismo.\n\nSaludos, Sam"
    )
    assert ev.language_match(inputs, spanish, ref)["score"] == 1.0
    assert ev.reply_relevance(inputs, spanish, ref)["score"] == 1.0


def test_a_question_about_a_named_product_is_answered_by_naming_it() -> None:
    inputs, ref = with_inbound("Does this work with Salesforce?"), {"action": "reply"}
    ignored = outputs(body="Hi Ana,\n\nThank you for your note. Would a 20-minute call work?")
    assert ev.reply_relevance(inputs, ignored, ref)["comment"] == (
        "question: does not mention Salesforce"
    )
    answered = outputs(body="Hi Ana,\n\nYes, it syncs both ways with Salesforce.")
    assert ev.reply_relevance(inputs, answered, ref)["score"] == 1.0
    routed = outputs(body="Hi Ana,\n\nMy colleague will get back to you on that today.")
    assert ev.reply_relevance(inputs, routed, ref)["score"] == 1.0


def test_an_opt_out_gets_no_reply_at_all() -> None:
    inputs = with_inbound("Please take me off your list")
    pitched = outputs(body="Hi Ana,\n\nBefore you go, would a 20-minute call help?")
    result = ev.reply_relevance(inputs, pitched, {"action": "reply"})
    assert result["score"] == 0.0 and "replied to an opt-out message" in result["comment"]
    silent = {"action": "skip", "subject": None, "body": None, "skip_reason": "opted out"}
    assert ev.reply_relevance(inputs, silent, {"action": "skip"})["score"] == 1.0
    assert ev.language_match(inputs, silent, {"action": "skip"})["score"] == 1.0


@pytest.mark.parametrize(
    ("inbound", "reply", "why"),
    [
        (
            "Not now, maybe Q2.",
            "Hi Ana,\n\nThanks. Would Tuesday or Thursday next week work for a call?",
            "does not acknowledge the timing (Q2)",
        ),
        (
            "Not now, maybe Q2.",
            "Hi Ana,\n\nUnderstood, I'll come back to you in Q2. Or is next week possible?",
            "asks to meet 'next week'",
        ),
        (
            "Please talk to Maria instead, she owns this.",
            "Hi Ana,\n\nThanks. Would a 20-minute call work?",
            "does not address the referral to Maria",
        ),
        (
            "Thanks, but we're not interested.",
            "Hi Ana,\n\nThanks for letting me know. Would a 20-minute call change your mind?",
            "still asks for a meeting",
        ),
        (
            "Thanks, but we're not interested.",
            "Hi Ana,\n\nOK. We offer a 20-minute walkthrough.",
            "no thanks or acknowledgement; still pitches",
        ),
    ],
)
def test_a_reply_that_ignores_what_was_said_fails(inbound: str, reply: str, why: str) -> None:
    result = ev.reply_relevance(with_inbound(inbound), outputs(body=reply), {"action": "reply"})
    assert result["score"] == 0.0 and why in result["comment"], result


@pytest.mark.parametrize(
    ("inbound", "reply"),
    [
        ("Not now, maybe Q2.", "Hi Ana,\n\nUnderstood. I'll get in touch again in Q2."),
        ("Please talk to Maria instead.", "Hi Ana,\n\nThank you, I'll write to Maria directly."),
        (
            "Thanks, but we're not interested.",
            "Hi Ana,\n\nThanks for letting me know. All the best.",
        ),
    ],
)
def test_a_reply_that_answers_what_was_said_passes(inbound: str, reply: str) -> None:
    result = ev.reply_relevance(with_inbound(inbound), outputs(body=reply), {"action": "reply"})
    assert result["score"] == 1.0, result


def test_an_out_of_office_is_recognised_without_a_label() -> None:
    inputs = with_inbound("I am out of the office until March 9.", "Automatic reply: idea")
    result = ev.reply_relevance(inputs, outputs(body="Hi Ana,\n\nThanks!"), {"action": "reply"})
    assert "replied to an out-of-office message" in result["comment"]


def test_a_sentence_in_another_language_pasted_mid_email_fails() -> None:
    pasted = GOOD_BODY.replace(
        "The reason I'm writing",
        "I also saw that die Northwind GmbH hat im Januar ein neues Lager in Lyon eröffnet. "
        "The reason I'm writing",
    )
    result = ev.language_match(INPUTS, outputs(body=pasted), REF)
    assert result["score"] == 0.0 and "de text in an en email" in result["comment"]
    assert ev.language_match(INPUTS, outputs(), REF)["comment"] == "en throughout"


def test_a_language_it_cannot_tell_passes_with_a_comment() -> None:
    result = ev.language_match(INPUTS, outputs(body="Ana: Lyon, 2026. Sam"), REF)
    assert result == {
        "key": "language_match",
        "score": 1.0,
        "comment": "language unsure: not judged",
    }


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Danke für Ihre Nachricht. Im Moment passt es nicht, vielleicht im Q2.", "de"),
        ("Merci pour votre message. Je ne suis pas la bonne personne pour ce sujet.", "fr"),
        ("Hola, gracias. ¿Cuánto cuesta para un equipo de 12 personas?", "es"),
        ("Grazie per il messaggio. Quanto costa per un team di 10 persone?", "it"),
        ("Bedankt voor je bericht. Wat kost het voor een team? Ik hoor het graag.", "nl"),
        ("Obrigado pela mensagem. Quanto custa para uma equipe? Não temos orçamento.", "pt"),
        ("Thanks for the note. Does this work with the tools that we have today?", "en"),
    ],
)
def test_the_language_guesser_names_each_language(text: str, lang: str) -> None:
    assert detect_language(text, min_hits=3) == lang
