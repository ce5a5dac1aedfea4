"""Governed prompt updates (SPEC §14) as a person runs them, over SQLite and Postgres.

`coachgraph prompts propose` runs the real release gate: offline, and over the model with
the real `openai` client against a scripted server on loopback. The scripted model writes a
clean draft unless the system prompt carries a bad proposal's text, when it leaks a template
marker and leaves out any opt-out wording.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from coachgraph.runner.door import ensure_door
from coachgraph.runner.drafting import draft_for
from coachgraph.store import prompts as store
from coachgraph.store.audit import audit_rows
from coachgraph.store.crm import CrmStore
from evals.gate import EXIT_CODES
from nodes.email.instructions import shipped_instructions
from nodes.email.prompts import DATA_RULE
from nodes.email.text_rules import has_opt_out_line
from schemas.approval import HumanResponse
from schemas.context import Context
from tests.integration.campaign_helpers import day, start_campaign, thread
from tests.integration.conftest import Run, one_line_error
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI
from tests.integration.scripted_model import scripted_model

pytestmark = pytest.mark.integration

NOW = "2026-11-02T09:00:00+00:00"
GOOD = "You write one short, warm B2B email that a busy manager can read in thirty seconds."
BAD = "LEAKY-PROPOSAL: write a template the sender fills in later, with merge fields."
Cli = Callable[..., Run]


@pytest.fixture
def crm(context: Context, monkeypatch: pytest.MonkeyPatch) -> CrmStore:
    """The demo CRM in the test's database, at a fixed instant for the CLI."""
    monkeypatch.setenv("COACHGRAPH_NOW", NOW)
    return CrmStore(context.db_url)


@pytest.fixture
def model_env(fake_llm: FakeOpenAI) -> dict[str, str]:
    fake_llm.set_responder(scripted_model(leak="LEAKY-PROPOSAL"))
    return {"LLM_API_KEY": FAKE_API_KEY, "LLM_BASE_URL": fake_llm.base_url, "LLM_MAX_ATTEMPTS": "1"}


def write(tmp_path: Path, body: str, name: str = "proposal.txt") -> str:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(path)


def propose(cli: Cli, file: str, *extra: str, **env: str) -> Run:
    args = ("prompts", "propose", "--seat", "composer", "--file", file, "--reason", "clearer")
    return cli(*args, "--no-judge", "--no-upload", *extra, **env)


def prompt_audit(crm: CrmStore) -> list[dict[str, Any]]:
    return audit_rows(crm, "prompt_update")


def decided(crm: CrmStore, decision: str, at: str = NOW) -> store.PromptVersion:
    """A version stored as the gate would leave it, without running the gate."""
    text = f"Instructions the gate decided {decision} on, long enough."
    proposal = store.Proposal("composer", text, "t", "r", at)
    report = {
        "flag": "composer instructions",
        "baseline_value": "shipped",
        "candidate_value": "proposal",
        "decision": decision,
        "exit_code": EXIT_CODES[decision],
        "paths": [],
    }
    return store.record_decision(crm, proposal, report, at)


# -- the gate decides --------------------------------------------------------------------


def test_a_good_update_is_promoted_and_the_model_path_uses_it(
    cli: Cli, crm: CrmStore, fake_llm: FakeOpenAI, model_env: dict[str, str], tmp_path: Path
) -> None:
    run = propose(cli, write(tmp_path, GOOD), "--author", "dana", "--json", **model_env)

    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["report"]["decision"] == "PROMOTE"
    assert result["report"]["baseline_value"] == "shipped"
    assert result["version"]["status"] == "current"
    current = store.current(crm, "composer")
    assert current is not None and current.text == GOOD and current.author == "dana"
    drafts = [r for r in fake_llm.requests_of("draft") if GOOD in r.message("system")]
    assert drafts, "the gate's candidate run never sent the proposal to the model"
    assert FAKE_API_KEY not in run.out + run.err

    before = fake_llm.count
    context = ensure_door(
        Context(
            db_url=crm.db_url,
            now=NOW,
            llm_api_key=SecretStr(FAKE_API_KEY),
            llm_base_url=fake_llm.base_url,
            llm_max_attempts=1,
        )
    )
    result = draft_for("c02", context)

    assert result["provenance"]["draft"]["source"] == "llm"
    [request] = [r for r in fake_llm.requests[before:] if r.kind == "draft"]
    system = request.message("system")
    assert system.startswith(GOOD) and system.endswith(DATA_RULE)
    assert has_opt_out_line(result["draft"]["body"])  # added after the model, whatever it says


def test_a_proposal_that_leaks_markers_and_drops_the_opt_out_is_refused(
    cli: Cli, crm: CrmStore, fake_llm: FakeOpenAI, model_env: dict[str, str], tmp_path: Path
) -> None:
    good = propose(cli, write(tmp_path, GOOD), **model_env)
    assert good.code == 0, good.out + good.err
    current = store.current(crm, "composer")

    run = propose(cli, write(tmp_path, BAD), **model_env)

    assert run.code in (1, 2), run.out + run.err  # HOLD or ROLLBACK, the gate's own codes
    assert "refused" in run.out and "{{first_name}}" in run.out
    assert store.current(crm, "composer") == current
    refused = store.versions(crm, "composer")[0]
    assert refused.status == "refused" and refused.text == BAD
    assert refused.gate_report is not None
    assert refused.gate_report["decision"] in ("HOLD", "ROLLBACK")
    assert refused.gate_report["baseline_value"] == f"version {current.id}"  # type: ignore[union-attr]
    leaked = [r for r in fake_llm.requests_of("draft") if "LEAKY-PROPOSAL" in r.message("system")]
    assert leaked, "the candidate run never sent the proposal to the model"


def test_offline_the_gate_runs_the_offline_paths_and_promotes(
    cli: Cli, crm: CrmStore, tmp_path: Path
) -> None:
    run = propose(cli, write(tmp_path, GOOD))

    assert run.code == 0, run.out + run.err
    assert "PROMOTE: version 1 is now composer's current instructions" in run.out
    [version] = store.versions(crm)
    assert version.gate_report is not None
    assert version.gate_report["baseline_config"]["model_path"] is False


# -- the rules -----------------------------------------------------------------------------


def test_fewer_than_20_characters_are_refused_before_the_gate(
    cli: Cli, crm: CrmStore, tmp_path: Path
) -> None:
    error = one_line_error(propose(cli, write(tmp_path, "Be nicer please.   ")))

    assert "16 characters" in error and "at least 20" in error
    assert store.versions(crm) == [] and prompt_audit(crm) == []


def test_the_sixth_accepted_proposal_of_a_day_is_refused_and_nothing_runs(
    cli: Cli, crm: CrmStore, tmp_path: Path
) -> None:
    for _ in range(4):
        decided(crm, "PROMOTE")
    decided(crm, "HOLD")  # refused proposals do not count
    decided(crm, "PROMOTE", at="2026-11-01T23:59:00+00:00")  # nor do yesterday's
    fifth = propose(cli, write(tmp_path, GOOD))
    assert fifth.code == 0, fifth.out + fifth.err
    rows, audited = len(store.versions(crm)), len(prompt_audit(crm))

    error = one_line_error(propose(cli, write(tmp_path, GOOD + " Again.")))

    assert "already accepted 5 prompt proposals on 2026-11-02" in error
    assert "limit is 5 a day" in error
    assert (len(store.versions(crm)), len(prompt_audit(crm))) == (rows, audited)


def test_the_last_20_versions_are_kept_and_the_current_never_pruned(crm: CrmStore) -> None:
    first = decided(crm, "PROMOTE")
    for _ in range(24):
        decided(crm, "ROLLBACK")

    kept = store.versions(crm, "composer")
    assert len(kept) == 21 and kept[-1] == first and first.status == "current"

    newest = decided(crm, "PROMOTE")

    kept = store.versions(crm, "composer")
    assert len(kept) == 20 and kept[0] == newest
    assert first.id not in {v.id for v in kept}


# -- list, show, rollback ------------------------------------------------------------------


def test_list_show_and_rollback(cli: Cli, crm: CrmStore) -> None:
    v1, v2, v3 = decided(crm, "PROMOTE"), decided(crm, "PROMOTE"), decided(crm, "HOLD")

    listed = json.loads(cli("prompts", "list", "--seat", "composer", "--json").out)
    assert [(r["id"], r["status"], r["decision"]) for r in listed] == [
        (v3.id, "refused", "HOLD"),
        (v2.id, "current", "PROMOTE"),
        (v1.id, "superseded", "PROMOTE"),
    ]
    shown = json.loads(cli("prompts", "show", str(v3.id), "--json").out)
    assert shown["text"] == v3.text and shown["gate_report"]["decision"] == "HOLD"
    assert (shown["author"], shown["reason"], shown["created_at"]) == ("t", "r", NOW)
    assert v3.text in cli("prompts", "show", str(v3.id)).out

    back = cli("prompts", "rollback", "--seat", "composer", "--reason", "replies got worse")
    assert back.code == 0, back.err
    assert f"version {v1.id} is current again; version {v2.id} rolled back" in back.out
    assert store.current(crm, "composer") == store.version(crm, v1.id)
    assert store.version(crm, v2.id).status == "rolled_back"

    refused = one_line_error(
        cli("prompts", "rollback", "--seat", "composer", "--to", str(v3.id), "--reason", "x")
    )
    assert "refused by the gate" in refused
    again = cli("prompts", "rollback", "--seat", "composer", "--to", str(v2.id), "--reason", "ok")
    assert again.code == 0, again.err
    assert store.current(crm, "composer") == store.version(crm, v2.id)

    [event] = [e for e in prompt_audit(crm) if e["metadata"]["decision"] == "rollback"][:1]
    assert (event["sender"], event["receiver"]) == ("person", "composer")
    assert event["metadata"]["version_id"] == v1.id
    assert event["metadata"]["rolled_back_version_id"] == v2.id
    assert event["metadata"]["reason"] == "replies got worse"


def test_every_proposal_and_decision_is_audited(
    cli: Cli, crm: CrmStore, model_env: dict[str, str], tmp_path: Path
) -> None:
    assert propose(cli, write(tmp_path, GOOD), "--author", "dana", **model_env).code == 0
    propose(cli, write(tmp_path, BAD), **model_env)

    events = prompt_audit(crm)

    assert [e["metadata"]["decision"] for e in events][0::2] == ["proposed", "proposed"]
    assert {(e["sender"], e["receiver"]) for e in events} == {("person", "composer")}
    promoted, refused = events[1], events[3]
    assert promoted["metadata"]["decision"] == "PROMOTE"
    assert promoted["metadata"]["version_id"] == 1 and promoted["metadata"]["author"] == "dana"
    assert refused["metadata"]["decision"] in ("HOLD", "ROLLBACK")
    assert refused["metadata"]["status"] == "refused"
    scores = refused["metadata"]["scores"]
    assert set(scores) == {
        "agentic-sales:campaign:final_response",
        "agentic-sales:campaign:sequences",
        "agentic-sales:orchestrator:replies",
        "agentic-sales:orchestrator:node_paths",
    }
    assert all({"baseline", "candidate", "verdict"} <= set(s) for s in scores.values())
    assert FAKE_API_KEY not in json.dumps(events)


# -- feedback ------------------------------------------------------------------------------


def test_feedback_and_edits_are_collected_and_proposed(
    cli: Cli, context: Context, crm: CrmStore
) -> None:
    campaign = start_campaign(context, ["c02"])
    campaign.tick(day(0))
    c02 = thread("cmp1", "c02")
    campaign.decide(c02, HumanResponse(type="response", args="Make it more formal"), day(0))
    before = campaign.pending(day(0))[0]
    body = "Dear Daniel,\n\nA short note on the Reno site. Would a 20-minute call help?"
    edit = {"action": "send_email", "args": {"subject": "Reno, briefly", "body": body}}
    campaign.decide(c02, HumanResponse(type="edit", args=edit), day(0))  # type: ignore[typeddict-item]

    items = json.loads(cli("prompts", "feedback", "--campaign", "cmp1", "--json").out)

    assert [i["kind"] for i in items] == ["feedback", "edit"]
    assert items[0]["feedback"] == "Make it more formal" and items[0]["touch"] == 1
    assert items[1]["before"] == {"subject": before["subject"], "body": before["body"]}
    assert items[1]["after"] == {"subject": "Reno, briefly", "body": body}
    assert "Make it more formal" in cli("prompts", "feedback", "--campaign", "cmp1").out

    run = cli(
        "prompts", "propose", "--seat", "composer", "--from-feedback", "cmp1",
        "--reason", "what reviewers asked for", "--no-judge", "--no-upload",
    )  # fmt: skip

    assert run.code == 0, run.out + run.err
    current = store.current(crm, "composer")
    assert current is not None
    assert current.text.startswith(shipped_instructions())
    assert "Reviewer feedback from campaign cmp1 (1 note(s), 1 edit(s))" in current.text
    assert '"Make it more formal"' in current.text
    assert '"Reno, briefly"' in current.text


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("propose", "--seat", "nobody", "--file", "{good}", "--reason", "r"), "unknown seat"),
        (
            ("propose", "--seat", "reviewer", "--file", "{good}", "--reason", "r"),
            "seat reviewer has no governable prompt",
        ),
        (("propose", "--seat", "composer", "--file", "missing.txt", "--reason", "r"), "no file"),
        (("propose", "--seat", "composer", "--reason", "r"), "exactly one of --file"),
        (("propose", "--seat", "composer", "--file", "{good}", "--reason", " "), "--reason"),
        (
            ("propose", "--seat", "composer", "--from-feedback", "nope", "--reason", "r"),
            "unknown campaign id 'nope'",
        ),
        (("show", "99"), "unknown prompt version 99"),
        (("rollback", "--seat", "composer", "--to", "99", "--reason", "r"), "nothing to roll"),
        (("rollback", "--seat", "composer", "--reason", "r"), "nothing to roll back"),
        (("list", "--seat", "nobody"), "unknown seat 'nobody'"),
        (("feedback", "--campaign", "nope"), "unknown campaign id 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    cli: Cli, crm: CrmStore, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    good = write(tmp_path, GOOD)
    run = cli("prompts", *(a.replace("{good}", good) for a in args))

    assert message in one_line_error(run)
    assert store.versions(crm) == [] and prompt_audit(crm) == []


def test_an_unknown_rollback_target_is_named(cli: Cli, crm: CrmStore) -> None:
    decided(crm, "PROMOTE")

    error = one_line_error(
        cli("prompts", "rollback", "--seat", "composer", "--to", "99", "--reason", "r")
    )

    assert "unknown prompt version 99 for seat composer" in error
    assert prompt_audit(crm)[-1]["metadata"]["decision"] == "PROMOTE"
