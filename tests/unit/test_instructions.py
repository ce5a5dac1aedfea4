"""The composer's system prompt: shipped, or promoted instructions with the fixed tail."""

from __future__ import annotations

from nodes.email.instructions import ANSWER_FORMAT, composer_system, shipped_instructions
from nodes.email.prompts import DATA_RULE, DRAFT_SYSTEM, REPLY_SYSTEM, SEQUENCE_RULE

PROMOTED = "You write one short, warm B2B email a busy manager reads in thirty seconds."


def test_without_promoted_instructions_the_shipped_prompts_are_used() -> None:
    assert composer_system("compose", None) == DRAFT_SYSTEM
    assert composer_system("reply", "  ") == REPLY_SYSTEM


def test_promoted_instructions_keep_the_answer_format_and_the_data_rule() -> None:
    for kind in ("compose", "reply"):
        system = composer_system(kind, PROMOTED)
        assert system.startswith(PROMOTED)
        assert ANSWER_FORMAT in system and system.endswith(DATA_RULE)
    assert "inbound email" in composer_system("reply", PROMOTED)


def test_shipped_instructions_are_the_first_touch_prompt_without_its_fixed_tail() -> None:
    shipped = shipped_instructions()
    assert DRAFT_SYSTEM.startswith(shipped)
    assert DATA_RULE not in shipped and "JSON" not in shipped


def test_no_prompt_update_drops_the_touch_purpose_and_the_used_facts_rule() -> None:
    for instructions in (None, PROMOTED):
        system = composer_system("compose", instructions)
        assert SEQUENCE_RULE in system
        assert "`purpose`" in system and "`used_facts`" in system
    assert SEQUENCE_RULE not in shipped_instructions()
