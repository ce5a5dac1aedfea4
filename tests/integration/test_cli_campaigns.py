"""The campaign commands as a user runs them: JSON contracts, exit codes and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Run, one_line_error

pytestmark = pytest.mark.integration

T0 = "2026-11-02T09:00:00Z"
THREAD = "campaign:q4:contact:c02"


@pytest.fixture
def q4(
    cli: Callable[..., Run], demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Campaign q4 with c02 and c03 enrolled at T0 and ticked once."""
    monkeypatch.setenv("COACHGRAPH_DB", demo_db)
    monkeypatch.setenv("COACHGRAPH_OUTBOX_DIR", str(tmp_path / "outbox"))
    created = cli(
        "campaign",
        "create",
        "--name",
        "Q4",
        "--offer",
        "a short walkthrough",
        "--sender-name",
        "Sam",
        "--sender-email",
        "sam@seller.example",
        "--id",
        "q4",
        "--json",
    )
    assert json.loads(created.out) == {"campaign_id": "q4"}
    enrolled = cli(
        "campaign", "enroll", "q4", "--contact", "c02", "--contact", "c03", "--now", T0, "--json"
    )
    assert json.loads(enrolled.out) == {"enrolled": 2, "already_enrolled": 0}
    ticked = json.loads(cli("tick", "--now", T0, "--json").out)
    assert {
        k: ticked[k] for k in ("resumed", "drafted", "sent", "stopped", "failed", "skipped")
    } == {"resumed": 2, "drafted": 1, "sent": 0, "stopped": 1, "failed": 0, "skipped": 0}


def test_a_touch_from_draft_to_outbox(cli: Callable[..., Run], q4: None) -> None:
    [item] = json.loads(cli("approvals", "list", "--json").out)
    assert {
        "thread_id",
        "campaign_id",
        "contact_id",
        "touch",
        "to",
        "subject",
        "body",
        "review_passed",
        "review_notes",
    } <= set(item)
    assert (item["thread_id"], item["touch"], item["review_passed"]) == (THREAD, 1, True)
    shown = cli("approvals", "show", THREAD)
    assert "Touch 1 of 6" in shown.out and item["subject"] in shown.out
    assert cli("approvals", "approve", THREAD, "--now", T0).code == 0
    [sent] = json.loads(cli("outbox", "--json").out)
    assert {
        "idempotency_key",
        "thread_id",
        "touch",
        "to",
        "subject",
        "message_id",
        "status",
        "sent_at",
    } <= set(sent)
    assert (sent["status"], sent["sent_at"], sent["idempotency_key"]) == (
        "sent",
        "2026-11-02T09:00:00+00:00",
        f"{THREAD}:touch:1",
    )
    rows = {r["contact_id"]: r for r in json.loads(cli("status", "--json").out)}
    assert (rows["c02"]["status"], rows["c02"]["touches_sent"]) == ("active", 1)
    assert rows["c02"]["next_due_at"] == "2026-11-06T09:00:00+00:00"
    assert (rows["c03"]["status"], rows["c03"]["stop_reason"]) == ("stopped", "do_not_contact")
    assert "recorded reply" in cli("reply", "--contact", "c02", "--body", "No", "--now", T0).out
    stopped = json.loads(cli("tick", "--now", "2026-11-03T09:00:00Z", "--json").out)
    assert stopped["stopped"] == 1
    assert (
        json.loads(cli("status", "--json", "--campaign", "q4").out)[0]["stop_reason"] == "replied"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("campaign", "enroll", "nope", "--all"), "unknown campaign id 'nope'"),
        (("campaign", "enroll", "q4"), "give either --all or one or more --contact ID"),
        (("campaign", "enroll", "q4", "--contact", "zz"), "unknown contact id 'zz'"),
        (
            (
                "campaign",
                "create",
                "--name",
                "x",
                "--offer",
                "y",
                "--sender-name",
                "z",
                "--sender-email",
                "not-an-address",
            ),
            "is not an (ASCII) email address",
        ),
        (
            (
                "campaign",
                "create",
                "--name",
                "x",
                "--offer",
                "y",
                "--sender-name",
                "z",
                "--sender-email",
                "a@b.example",
                "--id",
                "q4",
            ),
            "campaign 'q4' already exists",
        ),
        (("approvals", "approve", "campaign:q4:contact:zz"), "unknown thread"),
        (
            ("approvals", "show", "campaign:q4:contact:c03"),
            "is stopped",
        ),
        (("approvals", "edit", THREAD, "--subject", "Hi", "--body", " "), "non-empty --body"),
        (
            ("approvals", "edit", THREAD, "--subject", "Hi", "--body", "Hi [First Name]"),
            "edit not accepted (template marker '[First Name]' in body)",
        ),
        (
            (
                "campaign",
                "create",
                "--name",
                "x",
                "--offer",
                "y",
                "--sender-name",
                "z",
                "--sender-email",
                "sam@bücher.example",
            ),
            "is not an (ASCII) email address",
        ),
        (("approvals", "respond", THREAD, "--feedback", ""), "non-empty --feedback"),
        (("reply", "--contact", "zz"), "unknown contact id 'zz'"),
        (("reply", "--contact", "c02", "--bounced", "--unsubscribed"), "at most one of"),
        (("status", "--campaign", "nope"), "unknown campaign id 'nope'"),
        (("tick", "--now", "yesterday"), "not an ISO-8601 instant: 'yesterday'"),
        (("tick", "--concurrency", "0"), "--concurrency"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    cli: Callable[..., Run], q4: None, args: tuple[str, ...], message: str
) -> None:
    before = cli("status", "--json").out
    assert message in one_line_error(cli(*args))
    assert cli("status", "--json").out == before
    assert json.loads(cli("outbox", "--json").out) == []


def test_approving_twice_sends_once(cli: Callable[..., Run], q4: None) -> None:
    assert cli("approvals", "approve", THREAD, "--now", T0).code == 0
    assert "not waiting for approval (status: active)" in one_line_error(
        cli("approvals", "approve", THREAD, "--now", T0)
    )
    assert len(json.loads(cli("outbox", "--json").out)) == 1
