"""`attention`, `audit`, `campaign report` and `retention` as a user runs them, on each database.

Each test builds its state directly in the tables (no model, no tick), runs the real CLI and
asserts the exact JSON, the exit code and, for bad input, that nothing changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from coachgraph.store.audit import write_events
from coachgraph.store.crm import (
    CrmStore,
    campaigns,
    contacts,
    enrollments,
    metadata,
    outbox,
    retention_watch,
)
from schemas.supervision import AuditEvent, audit_event
from tests.integration.conftest import Run, one_line_error

pytestmark = pytest.mark.integration

T0 = "2026-11-02T09:00:00+00:00"
NOW = "2026-11-06T09:00:00+00:00"
CONTACTS = {
    # id: (company, flags)
    "a": ("acme.example", {}),
    "b": ("beta.example", {"replied": True}),
    "c": ("gamma.example", {"bounced": True}),
    "d": ("held.example", {}),
    "e": ("acme.example", {}),
    "f": ("beta.example", {"unsubscribed": True}),
    "g": ("acme.example", {}),
    "h": ("gamma.example", {"unsubscribed": True}),
}


def thread(campaign: str, contact: str) -> str:
    return f"campaign:{campaign}:contact:{contact}"


def report(status: str, summary: str, at: str) -> str:
    return json.dumps(
        {"status": status, "summary": summary, "at": at, "seat": "orchestrator", "metadata": {}}
    )


# (campaign, contact, status, touches_sent, extra columns)
ENROLLMENTS: list[tuple[str, str, str, int, dict[str, Any]]] = [
    ("q4", "a", "active", 2, {}),
    ("q4", "b", "stopped", 1, {"stop_reason": "replied"}),
    ("q4", "c", "stopped", 2, {"stop_reason": "bounced"}),
    (
        "q4",
        "d",
        "held",
        0,
        {
            "stop_reason": "retention: renewal in progress",
            "last_report": report("success", "held off: retention", "2026-11-02T09:00:05+00:00"),
        },
    ),
    (
        "q4",
        "e",
        "failed",
        3,
        {
            "stop_reason": "retry budget spent: model outage",
            "last_error": "model unreachable",
            "last_report": report("failed", "model outage", "2026-11-04T10:00:00+00:00"),
            "updated_at": "2026-11-04T10:00:01+00:00",
        },
    ),
    ("q4", "f", "stopped", 0, {"stop_reason": "unsubscribed"}),
    (
        "q4",
        "g",
        "awaiting_approval",
        1,
        {
            "last_report": report(
                "needs_attention",
                "draft flagged by the reviewer: [bold]names a price[/bold]",
                "2026-11-05T09:00:00+00:00",
            )
        },
    ),
    (
        "q4",
        "h",
        "stopped",
        2,
        {"last_report": report("needs_attention", "old flag", "2026-11-03T01:00:00+00:00")},
    ),
    (
        "q1",
        "a",
        "failed",
        0,
        {
            "last_error": "SMTP down",
            "last_report": "null",
            "updated_at": "2026-11-03T08:00:00+00:00",
        },
    ),
    (
        "q1",
        "b",
        "completed",
        1,
        {"last_report": report("needs_attention", "done", "2026-11-03T02:00:00+00:00")},
    ),
]

# (campaign, contact, touch, status)
SENDS = [
    *[("q4", "a", t, "sent") for t in (1, 2)],
    ("q4", "b", 1, "sent"),
    *[("q4", "c", t, "sent") for t in (1, 2)],
    ("q4", "c", 3, "failed"),
    *[("q4", "e", t, "sent") for t in (1, 2, 3)],
    ("q4", "g", 1, "sent"),
    ("q4", "g", 2, "unknown"),
    *[("q4", "h", t, "sent") for t in (1, 2)],
    ("q4", "h", 3, "withdrawn"),
    ("q1", "b", 1, "sent"),
]
UNKNOWN_KEY = f"{thread('q4', 'g')}:touch:2"


def decision(contact: str, kind: str, latency: float | None, refused: bool = False) -> AuditEvent:
    return audit_event(
        "decision",
        "person",
        "coach",
        f"{kind} touch 1",
        "2026-11-03T09:00:00+00:00",
        thread_id=thread("q4", contact),
        touch=1,
        decision=kind,
        latency_s=latency,
        refused=refused,
    )


def tokens(campaign: str, contact: str, prompt: int | None, completion: int | None) -> AuditEvent:
    return audit_event(
        "report",
        "orchestrator",
        "coach",
        "success: drafted",
        "2026-11-03T08:00:00+00:00",
        thread_id=thread(campaign, contact),
        status="success",
        touch=1,
        action="compose",
        **({} if prompt is None else {"prompt_tokens": prompt, "completion_tokens": completion}),
        model_calls=2,
    )


AUDIT = [
    tokens("q4", "a", 1200, 300),
    tokens("q4", "c", 800, 200),
    tokens("q4", "e", None, None),
    tokens("q1", "b", 5000, 5000),
    decision("a", "accept", 30),
    decision("c", "edit", 90),
    decision("e", "accept", 60),
    decision("g", "edit", 600, refused=True),
    decision("h", "ignore", 10),
    decision("b", "response", None),
    audit_event(
        "decision",
        "person",
        "coach",
        "edit touch 1",
        "2026-11-03T09:30:00+00:00",
        thread_id=thread("q1", "b"),
        decision="edit",
        latency_s=1000,
        refused=False,
    ),
    audit_event(
        "send",
        "sender",
        "contact",
        "sent touch 1",
        "2026-11-03T10:00:00+00:00",
        thread_id=thread("q4", "a"),
        touch=1,
        status="sent",
        edited=False,
    ),
    audit_event(
        "delegation",
        "person",
        "orchestrator",
        "draft for z",
        "2026-11-03T11:00:00+00:00",
        thread_id="draft:contact:z",
    ),
]


def build(url: str) -> CrmStore:
    """The state every test starts from: campaigns q4 and q1, their threads, sends and audit."""
    crm = CrmStore(url)
    crm.init()
    with crm.connect(write=True) as conn:
        conn.execute(campaigns.insert(), [_campaign("q4"), _campaign("q1")])
        conn.execute(contacts.insert(), [_contact(c, d, f) for c, (d, f) in CONTACTS.items()])
        conn.execute(enrollments.insert(), [_enrollment(*e) for e in ENROLLMENTS])
        conn.execute(outbox.insert(), [_send(*s) for s in SENDS])
        conn.execute(
            retention_watch.insert(),
            [
                {"company_domain": "held.example", "reason": "[red]renewal[/red] in progress"},
                {"company_domain": "other.example", "reason": None},
            ],
        )
        write_events(conn, AUDIT)
    return crm


def _campaign(cid: str) -> dict[str, Any]:
    return {
        "id": cid,
        "name": cid.upper(),
        "offer": "a walkthrough",
        "sender_name": "Sam",
        "sender_email": "sam@seller.example",
        "settings": "{}",
        "created_at": T0,
        "status": None if cid == "q1" else "active",
    }


def _contact(cid: str, domain: str, flags: dict[str, bool]) -> dict[str, Any]:
    values = {"id": cid, "email": f"{cid}@{domain}", "company_domain": domain}
    return values | {k: flags.get(k, False) for k in ("do_not_contact", *FLAG_NAMES)}


FLAG_NAMES = ("bounced", "unsubscribed", "replied")


def _enrollment(
    campaign: str, contact: str, status: str, touches: int, extra: dict[str, Any]
) -> dict[str, Any]:
    values = {
        "thread_id": thread(campaign, contact),
        "campaign_id": campaign,
        "contact_id": contact,
        "status": status,
        "next_due_at": None,
        "touches_sent": touches,
        "attempts": 0,
        "enrolled_at": T0,
        "stop_reason": None,
        "last_error": None,
        "last_report": None,
        "updated_at": T0,
    }
    return values | extra


def _send(campaign: str, contact: str, touch: int, status: str) -> dict[str, Any]:
    tid = thread(campaign, contact)
    return {
        "idempotency_key": f"{tid}:touch:{touch}",
        "thread_id": tid,
        "touch": touch,
        "to_email": f"{contact}@{CONTACTS[contact][0]}",
        "subject": f"touch {touch}",
        "body": "hello",
        "message_id": f"<{campaign}-{contact}-{touch}@seller.example>",
        "status": status,
        "sent_at": None
        if status in ("failed", "withdrawn")
        else f"2026-11-05T1{touch}:00:00+00:00",
        "created_at": T0,
    }


def snapshot(crm: CrmStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show a refused command changed nothing."""
    with crm.connect() as conn:
        return {
            name: sorted(tuple(map(str, row)) for row in conn.execute(select(table)))
            for name, table in metadata.tables.items()
        }


@pytest.fixture
def crm(any_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CrmStore]:
    monkeypatch.setenv("COACHGRAPH_DB", any_db)
    yield build(any_db)


def as_json(run: Run) -> Any:
    assert run.code == 0, run
    return json.loads(run.out)


# -- attention ------------------------------------------------------------------------------


def test_attention_lists_failed_flagged_and_unknown_sends(
    cli: Callable[..., Run], crm: CrmStore
) -> None:
    assert as_json(cli("attention", "--json")) == [
        {
            "kind": "failed",
            "thread_id": thread("q1", "a"),
            "contact_id": "a",
            "reason": "SMTP down",
            "at": "2026-11-03T08:00:00+00:00",
        },
        {
            "kind": "failed",
            "thread_id": thread("q4", "e"),
            "contact_id": "e",
            "reason": "retry budget spent: model outage",
            "at": "2026-11-04T10:00:00+00:00",
        },
        {
            "kind": "needs_attention",
            "thread_id": thread("q4", "g"),
            "contact_id": "g",
            "reason": "draft flagged by the reviewer: [bold]names a price[/bold]",
            "at": "2026-11-05T09:00:00+00:00",
        },
        {
            "kind": "unknown_send",
            "thread_id": thread("q4", "g"),
            "contact_id": "g",
            "reason": f"touch 2 to g@acme.example may have been sent (key {UNKNOWN_KEY}): "
            f"run `coachgraph outbox reconcile {UNKNOWN_KEY} --delivered|--not-delivered`",
            "at": "2026-11-05T12:00:00+00:00",
        },
    ]


def test_attention_table_prints_crm_text_as_it_is(cli: Callable[..., Run], crm: CrmStore) -> None:
    run = cli("attention")

    assert run.code == 0, run
    assert "[bold]names" in run.out and "unknown_send" in run.out


def test_attention_is_empty_on_a_fresh_database(
    cli: Callable[..., Run], any_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COACHGRAPH_DB", any_db)
    CrmStore(any_db).init()

    assert as_json(cli("attention", "--json")) == []
    assert cli("attention").out.strip() == "nothing needs attention"


# -- audit ----------------------------------------------------------------------------------


def test_audit_lists_every_row_oldest_first(cli: Callable[..., Run], crm: CrmStore) -> None:
    rows = as_json(cli("audit", "--json"))

    assert [r["content"] for r in rows] == [e["content"] for e in AUDIT]
    assert rows[4] == {
        "at": "2026-11-03T09:00:00+00:00",
        "thread_id": thread("q4", "a"),
        "sender": "person",
        "receiver": "coach",
        "type": "decision",
        "content": "accept touch 1",
        "metadata": {"touch": 1, "decision": "accept", "latency_s": 30, "refused": False},
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--thread", thread("q4", "a")], ["success: drafted", "accept touch 1", "sent touch 1"]),
        (["--campaign", "q1"], ["success: drafted", "edit touch 1"]),
        (["--campaign", "q4", "--type", "report"], ["success: drafted"] * 3),
        (["--type", "send"], ["sent touch 1"]),
        (["--thread", "draft:contact:z"], ["draft for z"]),
        (["--type", "decision", "--limit", "2"], ["response touch 1", "edit touch 1"]),
        (["--campaign", "q4", "--type", "hold"], []),
    ],
)
def test_audit_filters(
    cli: Callable[..., Run], crm: CrmStore, args: list[str], expected: list[str]
) -> None:
    assert [r["content"] for r in as_json(cli("audit", *args, "--json"))] == expected


def test_audit_table_shows_the_rows(cli: Callable[..., Run], crm: CrmStore) -> None:
    run = cli("audit", "--type", "send")

    assert run.code == 0, run
    assert "sent touch 1" in run.out and "sender → contact" in run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "nope"], "error: unknown campaign id 'nope'"),
        (
            ["--thread", "campaign:q4:contact:zz"],
            "error: unknown thread id 'campaign:q4:contact:zz'",
        ),
        (["--type", "gossip"], "'gossip' is not one of 'delegation', 'report', 'decision'"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_audit_refuses_bad_filters(
    cli: Callable[..., Run], crm: CrmStore, args: list[str], message: str
) -> None:
    before = snapshot(crm)

    line = one_line_error(cli("audit", *args, "--json"))

    assert message in line
    assert snapshot(crm) == before


def test_audit_names_every_valid_type(cli: Callable[..., Run], crm: CrmStore) -> None:
    line = one_line_error(cli("audit", "--type", "gossip"))

    assert "'prompt_update'" in line and "'inbound'" in line


# -- campaign report ------------------------------------------------------------------------

Q4_TOUCHES = [
    {"touch": 1, "sent": 6, "replied": 1, "bounced": 0, "unsubscribed": 0, "failed": 0},
    {"touch": 2, "sent": 4, "replied": 0, "bounced": 1, "unsubscribed": 1, "failed": 0},
    {"touch": 3, "sent": 1, "replied": 0, "bounced": 0, "unsubscribed": 0, "failed": 1},
    {"touch": 4, "sent": 0, "replied": 0, "bounced": 0, "unsubscribed": 0, "failed": 1},
]


def test_campaign_report_counts_the_funnel_latency_edits_and_cost(
    cli: Callable[..., Run], crm: CrmStore
) -> None:
    assert as_json(cli("campaign", "report", "q4", "--json")) == {
        "campaign_id": "q4",
        "touches": Q4_TOUCHES,
        "approval_latency_s_median": 60.0,
        "edit_rate": 0.333,
        "tokens": 2500,
        "cost_usd": 0.00109,
    }


def test_campaign_report_prices_tokens_from_the_settings(
    cli: Callable[..., Run], crm: CrmStore
) -> None:
    run = cli(
        "campaign", "report", "q4", "--json", LLM_USD_PER_MTOK_IN="1", LLM_USD_PER_MTOK_OUT="2"
    )

    assert as_json(run)["cost_usd"] == 0.003


def test_campaign_report_of_another_campaign(cli: Callable[..., Run], crm: CrmStore) -> None:
    assert as_json(cli("campaign", "report", "q1", "--json")) == {
        "campaign_id": "q1",
        "touches": [
            {"touch": 1, "sent": 1, "replied": 1, "bounced": 0, "unsubscribed": 0, "failed": 1}
        ],
        "approval_latency_s_median": 1000.0,
        "edit_rate": 1.0,
        "tokens": 10000,
        "cost_usd": 0.00685,
    }


def test_campaign_report_of_an_empty_campaign(cli: Callable[..., Run], crm: CrmStore) -> None:
    with crm.connect(write=True) as conn:
        conn.execute(campaigns.insert(), [_campaign("q9")])

    assert as_json(cli("campaign", "report", "q9", "--json")) == {
        "campaign_id": "q9",
        "touches": [],
        "approval_latency_s_median": None,
        "edit_rate": None,
        "tokens": 0,
        "cost_usd": 0.0,
    }


def test_campaign_report_table(cli: Callable[..., Run], crm: CrmStore) -> None:
    run = cli("campaign", "report", "q4")

    assert run.code == 0, run
    assert "█" * 10 + " " in run.out
    assert "q4: median approval latency 60 s, edit rate 33.3%, 2,500 tokens" in run.out


def test_campaign_report_of_an_unknown_campaign(cli: Callable[..., Run], crm: CrmStore) -> None:
    before = snapshot(crm)

    assert one_line_error(cli("campaign", "report", "nope")) == "error: unknown campaign id 'nope'"
    assert snapshot(crm) == before


# -- retention ------------------------------------------------------------------------------


def statuses(crm: CrmStore) -> dict[str, tuple[str, str | None]]:
    query = select(enrollments.c.thread_id, enrollments.c.status, enrollments.c.next_due_at)
    with crm.connect() as conn:
        return {t: (s, d) for t, s, d in conn.execute(query)}


def hold_audit(cli: Callable[..., Run]) -> list[tuple[str, str, str, str | None]]:
    rows = as_json(cli("audit", "--type", "hold", "--json"))
    return [(r["sender"], r["receiver"], r["content"], r["thread_id"]) for r in rows]


LIFTED = "hold lifted: the company left the retention watch list"


def test_retention_list(cli: Callable[..., Run], crm: CrmStore) -> None:
    assert as_json(cli("retention", "list", "--json")) == [
        {
            "company_domain": "held.example",
            "reason": "[red]renewal[/red] in progress",
            "held_threads": 1,
        },
        {"company_domain": "other.example", "reason": None, "held_threads": 0},
    ]
    table = cli("retention", "list")
    assert table.code == 0 and "[red]renewal[/red]" in table.out


def test_retention_remove_lifts_the_hold_at_once(cli: Callable[..., Run], crm: CrmStore) -> None:
    run = cli("retention", "remove", " Held.Example ", "--now", "2026-11-06T09:00:00Z", "--json")

    assert as_json(run) == {
        "company_domain": "held.example",
        "reason": "[red]renewal[/red] in progress",
        "resumed": 1,
    }
    assert statuses(crm)[thread("q4", "d")] == ("active", NOW)
    assert hold_audit(cli) == [
        ("person", "retention", "retention watch lifted for held.example", None),
        ("retention", "coach", LIFTED, thread("q4", "d")),
    ]
    assert [r["company_domain"] for r in as_json(cli("retention", "list", "--json"))] == [
        "other.example"
    ]


def test_retention_remove_prints_how_many_resumed(cli: Callable[..., Run], crm: CrmStore) -> None:
    run = cli("retention", "remove", "other.example", "--now", NOW)

    assert run.code == 0, run
    assert run.out == "other.example is off the retention watch list; 0 held thread(s) resumed\n"
    assert statuses(crm)[thread("q4", "d")][0] == "held"


def test_retention_remove_of_an_unlisted_domain(cli: Callable[..., Run], crm: CrmStore) -> None:
    before = snapshot(crm)

    line = one_line_error(cli("retention", "remove", "acme.example", "--now", NOW))

    assert line == (
        "error: 'acme.example' is not on the retention watch list (see `coachgraph retention list`)"
    )
    assert snapshot(crm) == before


def write_list(tmp_path: Path, body: str) -> str:
    path = tmp_path / "retention.csv"
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_import_retention_replace_makes_the_list_the_files(
    cli: Callable[..., Run], crm: CrmStore, tmp_path: Path
) -> None:
    file = write_list(tmp_path, "company_domain,reason\nother.example,renewal\nnew.example,\n")

    run = cli("import", "retention", file, "--replace", "--json", COACHGRAPH_NOW=NOW)

    assert as_json(run) == {
        "kind": "retention",
        "file": "retention.csv",
        "imported": 2,
        "already_present": 0,
        "rejected": [],
        "removed": ["held.example"],
        "resumed": 1,
    }
    assert as_json(cli("retention", "list", "--json")) == [
        {"company_domain": "new.example", "reason": None, "held_threads": 0},
        {"company_domain": "other.example", "reason": "renewal", "held_threads": 0},
    ]
    assert statuses(crm)[thread("q4", "d")] == ("active", NOW)
    assert hold_audit(cli) == [
        ("person", "retention", "retention watch lifted for held.example", None),
        ("retention", "coach", LIFTED, thread("q4", "d")),
    ]


def test_import_retention_replace_text_output(
    cli: Callable[..., Run], crm: CrmStore, tmp_path: Path
) -> None:
    file = write_list(tmp_path, "company_domain\nheld.example\n")

    run = cli("import", "retention", file, "--replace", COACHGRAPH_NOW=NOW)

    assert run.code == 0, run
    assert run.out.splitlines() == [
        "imported 1 retention from retention.csv",
        "removed: other.example; 0 held thread(s) resumed",
    ]
    assert statuses(crm)[thread("q4", "d")][0] == "held"


def test_import_retention_without_replace_only_adds(
    cli: Callable[..., Run], crm: CrmStore, tmp_path: Path
) -> None:
    file = write_list(tmp_path, "company_domain\nnew.example\n")

    assert cli("import", "retention", file).code == 0
    assert len(as_json(cli("retention", "list", "--json"))) == 3


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "retention",
            "company_domain,reason\nnew.example,ok\nnot a domain,x\n",
            "error: 1 row(s) of retention.csv rejected; nothing replaced",
        ),
        (
            "retention",
            "company_domain\nnew.example\nnew.example\n",
            "error: 1 row(s) of retention.csv rejected; nothing replaced",
        ),
        ("retention", "domain\nnew.example\n", "unknown column 'domain' for retention"),
        (
            "contacts",
            "email\nz@new.example\n",
            "error: --replace works only with retention (not contacts); nothing imported",
        ),
    ],
)
def test_import_replace_refuses_bad_input_and_changes_nothing(
    cli: Callable[..., Run],
    crm: CrmStore,
    tmp_path: Path,
    kind: str,
    body: str,
    message: str,
) -> None:
    before = snapshot(crm)

    line = one_line_error(cli("import", kind, write_list(tmp_path, body), "--replace"))

    assert message in line
    assert snapshot(crm) == before
