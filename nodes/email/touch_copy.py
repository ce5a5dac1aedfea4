"""What each touch of a sequence says: its purpose, in a few wordings (SPEC §6).

A six-touch sequence introduces, shows the value, gives proof, asks one question about
the prospect's situation, offers something useful, and closes. Each purpose has its own
opening, body and ask, so no touch repeats another; each has a few wordings, picked per
contact, so forty prospects do not all read the same sentence. Placeholders are filled
from CRM data the composer has already cleaned: `{topic}` (the plan's angle, or a default),
`{area}` ("logistics teams"), `{company}`, `{a_call}` ("a 20-minute call").
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Purpose = Literal["introduction", "value", "proof", "question", "resource", "closing"]
PURPOSES: tuple[Purpose, ...] = (
    "introduction",
    "value",
    "proof",
    "question",
    "resource",
    "closing",
)
"""Touch n's purpose is PURPOSES[n - 1]; a touch past the sixth closes again."""


class Wording(NamedTuple):
    """One way to write a purpose: subject, opening sentence, middle, and the ask."""

    subject: str
    opening: str
    middle: str
    ask: str


WORDINGS: dict[Purpose, tuple[Wording, ...]] = {
    "introduction": (
        Wording(
            "{company_or_team}: {angle}",
            "I'm reaching out about {topic}.",
            "",
            "",
        ),
        Wording(
            "Quick idea for {company_or_team}",
            "The reason I'm writing: {topic}.",
            "",
            "",
        ),
        Wording(
            "An idea for {company_or_team}",
            "A quick note to introduce our work on {topic}.",
            "",
            "",
        ),
    ),
    "value": (
        Wording(
            "Time back for {company_or_team}",
            "Put simply, {topic} frees up the hours your team now spends on routine work, "
            "so your people can spend them with customers.",
            "Nothing changes in how your reps sell; the repetitive steps around it just stop "
            "landing on their desks.",
            "Would {a_call} next week be worth it, so I can show you how that would look "
            "{at_company}?",
        ),
        Wording(
            "The payoff for {company_or_team}",
            "The payoff for your team is time: {topic} means fewer hours on routine admin "
            "and more on the conversations that move deals forward.",
            "It fits around the tools your team already uses, so there is nothing new to learn "
            "first.",
            "Would {a_call} next week be worth it to see whether that holds {at_company}?",
        ),
    ),
    "proof": (
        Wording(
            "What teams like {company_or_yours} saw",
            "Customers usually saw their reps win back hours every week once they came to us "
            "for {topic}.",
            "The change that mattered most was simple: follow-ups went out on time without "
            "anyone having to remember them.",
            "Would you be open to {a_call} to see if the same could work {at_company}?",
        ),
        Wording(
            "How teams like {company_or_yours} handled it",
            "The companies that went ahead with us managed to take the routine follow-up off "
            "their reps, and {topic} is where it started.",
            "Their reps kept the conversations; the reminders, the chasing and the logging "
            "stopped being their job.",
            "Would {a_call} be useful to see how they set it up?",
        ),
    ),
    "question": (
        Wording(
            "A question about {company_or_team}",
            "A question rather than a pitch this time: how does your team handle routine "
            "follow-up today, by hand or with a tool?",
            "I ask because {topic} looks different in every team, and your answer would tell "
            "me whether there is anything worth showing you.",
            "And if it's useful, would {a_call} later this month be worth it?",
        ),
        Wording(
            "One question for {first_or_you}",
            "One question, if you have a moment: what takes up most of your team's week right now?",
            "Knowing that would tell me whether {topic} is even on your list, or whether I "
            "should stop assuming it is.",
            "If it is, would {a_call} be worth it at some point?",
        ),
    ),
    "resource": (
        Wording(
            "A short write-up for {company_or_team}",
            "No ask this time, just something useful: I can send you a short write-up on "
            "{topic}, with the steps other {area} took.",
            "It is practical rather than a brochure, and it stands on its own whether or not "
            "we ever speak.",
            "Would it be useful if I sent it over?",
        ),
        Wording(
            "Something useful for {company_or_team}",
            "I put together a one-page checklist on {topic}, short enough to read between "
            "meetings.",
            "It lists the steps other {area} took first, and the ones they wished they had "
            "skipped.",
            "Would it be useful if I sent it your way?",
        ),
    ),
    "closing": (
        Wording(
            "Closing the loop",
            "This will be my last note about {topic}, so I'll keep it short.",
            "If the timing is wrong for {company_or_team}, that is completely fine; if it "
            "becomes a priority later, just reply to this email and I'll pick it up from there.",
            "Before I close your file, is {a_call} worth it at all?",
        ),
        Wording(
            "My last note to {first_or_you}",
            "I don't want to crowd your inbox, so this is my last email about {topic}.",
            "If now is not the moment for {company_or_team}, no problem at all: a one-line "
            "reply whenever it suits you is all it takes to pick this up again.",
            "Before I go, would {a_call} be useful at some point?",
        ),
    ),
}

FACT_LEAD_INS = (
    "I noticed that {fact}.",
    "I also read that {fact}.",
    "It caught my eye that {fact}.",
    "I saw that {fact}.",
    "I was reading that {fact}.",
    "I also noticed that {fact}.",
)
"""Touch n introduces its fact with FACT_LEAD_INS[n - 1]: no two touches alike."""

DEFAULT_TOPIC = "cutting the manual work around sales follow-up"
"""What a touch is about when the plan gives no angle."""


def purpose_of(touch: int) -> Purpose:
    """The purpose of touch `touch` (1-based) of a sequence."""
    return PURPOSES[min(max(touch, 1), len(PURPOSES)) - 1]
