"""Prompts for the campaign graph's coach, as named constants (CRM text is data, never orders)."""

from nodes.email.prompts import DATA_RULE

COACH_PLAN_SYSTEM = (
    "You are the coach of a multi-touch B2B email sequence. Plan the whole sequence once. "
    "Answer with one JSON object with exactly these fields: "
    '"angle" (one sentence, at most 200 characters: the argument every email makes), '
    '"tone" (one of: warm, direct, formal, casual, consultative), '
    '"cadence_days" (list of whole days to wait before each touch, first usually 0, each 0-60), '
    '"max_touches" (whole number 1-6), '
    '"stop_criteria" (one sentence: when to stop emailing). ' + DATA_RULE
)
COACH_PLAN_USER = "DATA (offer, contact, company, facts):\n{data}"
