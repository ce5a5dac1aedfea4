"""The command line over a real SQLite file: outputs, exit codes, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from coachgraph.demo.campaign import EDITED_BODY
from coachgraph.mail.outbox import list_outbox
from coachgraph.store.crm import CrmStore, company_facts, contacts, messages, outbox
from evals.sequence_checks import novelty, purpose_problems
from schemas.values import parse_instant
from tests.integration.conftest import Run, one_line_error

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_db(any_db: str, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised, empty database: a SQLite file, then a throwaway Postgres database."""
    monkeypatch.setenv("COACHGRAPH_DB", any_db)
    assert cli("init").code == 0
    return any_db


def test_init_is_idempotent(cli: Callable[..., Run], empty_db: str) -> None:
    assert cli("init").code == 0
    assert "schema version" in cli("init").out


def test_malformed_rows_are_named_and_good_rows_kept(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "id,email,first_name,bounced\n"
        "a1,ada@acme.example,Ada,false\n"
        "a2,not-an-email,Bob,false\n"
        "a3,cy@acme.example,Cy,sometimes\n"
        "a4,,Dee,no\n"
        "a5,eve@acme.example,Eve,1\n"
    )
    run = cli("import", "contacts", str(path))
    assert (
        "contacts.csv row 3, field email: not an (ASCII) email address: 'not-an-email'" in run.err
    )
    assert "contacts.csv row 4, field bounced:" in run.err
    assert "contacts.csv row 5, field email:" in run.err
    assert "3 row(s) of contacts.csv rejected" in one_line_error(run)
    stored = {c["id"]: c for c in CrmStore(empty_db).list_contacts()}
    assert sorted(stored) == ["a1", "a5"]
    assert stored["a5"]["bounced"] is True


def test_unknown_column_rejects_the_whole_file(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("id,emial\na1,ada@acme.example\n")
    line = one_line_error(cli("import", "contacts", str(path)))
    assert "contacts.csv: unknown column 'emial'" in line and "nothing imported" in line
    assert CrmStore(empty_db).list_contacts() == []


def test_missing_required_column(cli: Callable[..., Run], empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "facts.csv"
    path.write_text("company_domain,confidence\nacme.example,0.5\n")
    assert "missing required column 'fact'" in one_line_error(cli("import", "facts", str(path)))


def test_facts_need_a_known_company_and_a_valid_confidence(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    (tmp_path / "companies.json").write_text(
        json.dumps([{"domain": "acme.example", "name": "Acme"}])
    )
    assert cli("import", "companies", str(tmp_path / "companies.json")).code == 0
    path = tmp_path / "facts.csv"
    path.write_text(
        "company_domain,fact,confidence,source\n"
        "acme.example,Acme opened a plant.,0.9,news\n"
        "nope.example,Nope raised money.,0.9,news\n"
        "acme.example,Acme hired.,1.7,news\n"
    )
    run = cli("import", "facts", str(path))
    assert "facts.csv row 3, field company_domain: unknown company 'nope.example'" in run.err
    assert "facts.csv row 4, field confidence:" in run.err
    one_line_error(run)
    assert [f["fact"] for f in CrmStore(empty_db).top_facts("acme.example")] == [
        "Acme opened a plant."
    ]


def test_json_import_reports_items_and_bad_json(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    good = tmp_path / "suppression.json"
    good.write_text(json.dumps([{"email": "A@B.example", "reason": "x"}, {"reason": "no address"}]))
    run = cli("import", "suppression", str(good), "--json")
    report = json.loads(run.out)
    assert report["imported"] == 1
    assert report["rejected"][0]["row"] == 2
    one_line_error(run)
    bad = tmp_path / "broken.json"
    bad.write_text("[{")
    assert "broken.json: not valid JSON" in one_line_error(cli("import", "companies", str(bad)))


def test_missing_file(cli: Callable[..., Run], empty_db: str) -> None:
    assert "no such file" in one_line_error(cli("import", "contacts", "nowhere.csv"))


def test_uninitialised_database_says_run_init(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("contacts", "list", COACHGRAPH_DB=f"sqlite:///{tmp_path / 'none.db'}")
    assert "run `coachgraph init`" in one_line_error(run)


def test_unknown_contact_id(cli: Callable[..., Run], demo_db: str) -> None:
    run = cli("draft", "--contact", "c99", COACHGRAPH_DB=demo_db)
    assert one_line_error(run) == "error: unknown contact id 'c99'"


def test_invalid_flag_value(cli: Callable[..., Run], demo_db: str) -> None:
    run = cli("draft", "--contact", "c02", COACHGRAPH_DB=demo_db, ORCHESTRATOR_ROLE_PLAN="maybe")
    line = one_line_error(run)
    assert "ORCHESTRATOR_ROLE_PLAN='maybe'" in line


def test_usage_errors_are_one_line_exit_1(cli: Callable[..., Run], demo_db: str) -> None:
    assert "--contact" in one_line_error(cli("draft"))
    assert "No such command" in one_line_error(cli("frobnicate"))


def test_draft_json_has_the_contract_fields(cli: Callable[..., Run], demo_db: str) -> None:
    run = cli("draft", "--contact", "c02", "--json", COACHGRAPH_DB=demo_db)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert {
        "contact_id",
        "action",
        "blocked_reason",
        "draft",
        "graph_meta",
        "provenance",
        "path",
    } <= set(data)
    assert {"review_passed", "review_notes", "role_plan"} <= set(data["graph_meta"])
    assert data["action"] == "compose" and data["blocked_reason"] is None
    assert set(data["draft"]) == {"subject", "body"}
    blocked = json.loads(cli("draft", "--contact", "c03", "--json").out)
    assert blocked["action"] == "blocked" and blocked["blocked_reason"] == "do_not_contact"
    assert blocked["draft"] is None


def test_contacts_list_json(cli: Callable[..., Run], demo_db: str) -> None:
    rows = json.loads(cli("contacts", "list", "--json", COACHGRAPH_DB=demo_db).out)
    assert len(rows) == 25
    assert {"id", "email", "do_not_contact", "bounced", "unsubscribed", "replied"} <= set(rows[0])


def test_console_script_runs_the_demo(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "DEEPSEEK", "COACHGRAPH"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "coachgraph", "demo", "--dir", str(tmp_path / "demo"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    demo = json.loads(done.stdout)
    results = demo["drafts"]
    assert len(results) == 25
    assert {r["blocked_reason"] for r in results} >= {
        "suppressed",
        "do_not_contact",
        "bounced",
        "unsubscribed",
        "replied",
        "retention_hold",
    }
    assert all(r["graph_meta"]["review_passed"] for r in results if r["draft"])
    # The campaign half shows every path: sends, an edit, a rejection, feedback, a reply,
    # a bounce, an unsubscribe, every block reason, and sequences that run to the end.
    campaign = demo["campaign"]
    decisions: dict[str, int] = {}
    for day in campaign["days"]:
        for kind, count in day["decisions"].items():
            decisions[kind] = decisions.get(kind, 0) + count
    # Sends keep to each contact's window (Mon-Fri 09:00-17:00 local) and 12 a day, so some
    # approvals wait for their slot ("…, scheduled") and go out at a later tick.
    kinds = {kind.removesuffix(", scheduled") for kind in decisions}
    assert {"approved", "edited", "rejected", "feedback"} <= kinds
    assert any(kind.endswith(", scheduled") for kind in decisions)
    assert_sent_in_windows_and_caps(f"sqlite:///{tmp_path / 'demo' / 'coachgraph.db'}")
    assert_every_touch_new_and_on_purpose(f"sqlite:///{tmp_path / 'demo' / 'coachgraph.db'}")
    # Inbound mail arrives as it does in production: a reply, a bounce and an out-of-office
    # through the mailbox the inbox poll reads, and an unsubscribe as a one-click POST.
    inbound = [event for day in campaign["days"] for event in day["inbound"]]
    assert inbound == [
        "reply from c08 (read as reply, applied)",
        "bounce from c11 (read as hard_bounce, applied)",
        "out-of-office from c09 (read as auto_reply, recorded)",
        "one-click unsubscribe from c12 (HTTP 200)",
    ]
    by_contact = {t["contact_id"]: t for t in campaign["threads"]}
    assert [by_contact[c]["stop_reason"] for c in ("c08", "c11", "c12")] == [
        "replied",
        "bounced",
        "unsubscribed",
    ]
    assert by_contact["c09"]["status"] in ("active", "completed")  # the thread went on
    assert by_contact["c09"]["touches_sent"] >= 4
    stops = {t["stop_reason"] for t in campaign["threads"] if t["status"] == "stopped"}
    assert stops == {"suppressed", "do_not_contact", "bounced", "unsubscribed", "replied"}
    # Supervision: a hold that resumed by itself, two releases, a failure waiting on a person,
    # and the audit log that tells it.
    threads = {t["contact_id"]: t for t in campaign["threads"]}
    assert threads["c21"]["status"] == "active" and threads["c21"]["touches_sent"] > 0
    assert {c for c, t in threads.items() if t["status"] == "released"} == {"c15", "c16"}
    assert [(a["kind"], a["contact_id"]) for a in campaign["attention"]] == [("failed", "c14")]
    assert threads["c14"]["last_report"]["status"] == "failed"
    excerpt = campaign["audit_excerpt"]
    assert [r["type"] for r in excerpt][:2] == ["hold", "hold"]
    assert {"delegation", "report", "decision", "send"} <= {r["type"] for r in excerpt}
    assert any(t["status"] == "completed" for t in campaign["threads"])
    assert campaign["sent"] > 50 and campaign["unknown"] == 0


def test_quoted_fields_may_span_lines_and_rows_count_records(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email\nk1,k1@acme.example\n")
    assert cli("import", "contacts", str(contacts)).code == 0
    history = tmp_path / "history.csv"
    history.write_text(
        "contact_id,direction,subject,body,at\n"
        'k1,in,Pricing,"Hi Sam,\n\nWhat does it cost?\nThanks",2026-11-01T09:00:00Z\n'
        "k1,sideways,Oops,x,2026-11-01T10:00:00Z\n"
    )
    run = cli("import", "history", str(history))
    assert "history.csv row 3, field direction:" in run.err
    one_line_error(run)
    assert CrmStore(empty_db).history("k1")[0]["body"] == "Hi Sam,\n\nWhat does it cost?\nThanks"


def test_history_instants_are_normalised_to_utc(
    cli: Callable[..., Run], demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A naive and a date-only instant (taken as UTC), and an inbound at 04:00Z written as
    # 20:00-08:00 the day before, which in real time comes after the 01:00Z outbound.
    monkeypatch.setenv("COACHGRAPH_DB", demo_db)
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [
                {
                    "contact_id": "c02",
                    "direction": "out",
                    "subject": "Hello",
                    "body": "x",
                    "at": "2026-10-01",
                },
                {
                    "contact_id": "c04",
                    "direction": "out",
                    "subject": "Hi",
                    "body": "x",
                    "at": "2026-10-31T01:00:00Z",
                },
                {
                    "contact_id": "c04",
                    "direction": "in",
                    "subject": "Question",
                    "body": "How much?",
                    "at": "2026-10-30T20:00:00-08:00",
                },
            ]
        )
    )
    assert cli("import", "history", str(history)).code == 0
    assert CrmStore(demo_db).history("c02")[-1]["at"] == "2026-10-01T00:00:00+00:00"
    assert json.loads(cli("draft", "--contact", "c02", "--json").out)["action"] == "compose"
    assert json.loads(cli("draft", "--contact", "c04", "--json").out)["action"] == "reply"


def test_reimporting_history_adds_nothing(cli: Callable[..., Run], demo_db: str) -> None:
    from coachgraph.demo.run import demo_data_dir

    run = cli("import", "history", str(demo_data_dir() / "history.csv"), COACHGRAPH_DB=demo_db)
    assert run.code == 0
    assert "imported 0 history from history.csv (4 already present)" in run.out


def test_large_imports_are_chunked(cli: Callable[..., Run], empty_db: str, tmp_path: Path) -> None:
    # 7,000 rows × 11 columns is past Postgres's 65,535 bound parameters in one statement.
    path = tmp_path / "contacts.csv"
    path.write_text("id,email\n" + "".join(f"x{i},p{i}@big.example\n" for i in range(7000)))
    run = cli("import", "contacts", str(path))
    assert run.code == 0, run.err
    assert len(CrmStore(empty_db).list_contacts()) == 7000


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("x" * 65 + ",long@acme.example", "row 3, field id"),
        ("n1,nul\x00@acme.example", "row 3, field email"),
        # A row spanning several lines names them.
        ('t1,t@acme.example,"two\nlines"', "row 3 (lines 3-4), field first_name"),
        ("t2,t2@acme.example," + "y" * 501, "row 3, field first_name"),
    ],
)
def test_values_the_database_would_refuse_are_row_errors(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path, row: str, where: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(f"id,email,first_name\nok,ok@acme.example,Ok\n{row}\n")
    run = cli("import", "contacts", str(path))
    assert f"contacts.csv {where}:" in run.err
    one_line_error(run)
    assert [c["id"] for c in CrmStore(empty_db).list_contacts()] == ["ok"]


def test_file_that_is_not_utf8(cli: Callable[..., Run], empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,email\n1,léa@x.example\n".encode("latin-1"))
    assert "latin1.csv: not UTF-8" in one_line_error(cli("import", "contacts", str(path)))


def test_repeated_column_rejects_the_file(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "suppression.csv"
    path.write_text("email,email\na@b.example,c@d.example\n")
    line = one_line_error(cli("import", "suppression", str(path)))
    assert "column 'email' appears more than once" in line


def test_user_text_is_never_read_as_markup(
    cli: Callable[..., Run], empty_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("id,email,first_name\nm1,m1@acme.example,[/oops]\nm2,m2@acme.example,[bold]\n")
    assert cli("import", "contacts", str(path)).code == 0
    run = cli("contacts", "list")
    assert run.code == 0, run.err
    assert "[/oops]" in run.out and "[bold]" in run.out


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COACHGRAPH_DB": "postgresql+psycopg2://u@h/db"}, "unsupported COACHGRAPH_DB"),
        ({"LLM_BASE_URL": "http://[::1"}, "invalid setting LLM_BASE_URL"),
        ({"LLM_BASE_URL": "ftp://example.test"}, "invalid setting LLM_BASE_URL"),
        ({"LLM_MAX_ATTEMPTS": "0"}, "invalid setting LLM_MAX_ATTEMPTS"),
    ],
)
def test_bad_settings_are_one_line_errors(
    cli: Callable[..., Run], env: dict[str, str], message: str
) -> None:
    assert message in one_line_error(cli("init", **env))


def test_database_path_under_a_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    run = cli("init", COACHGRAPH_DB=f"sqlite:///{tmp_path / 'afile' / 'x.db'}")
    assert "cannot create" in one_line_error(run)


def test_checking_a_missing_database_creates_nothing(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    target = tmp_path / "typo" / "crm.db"
    run = cli("contacts", "list", COACHGRAPH_DB=f"sqlite:///{target}")
    assert "no database at" in one_line_error(run)
    assert not target.parent.exists()


def test_demo_never_wipes_a_directory_it_did_not_make(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    run = cli("demo", "--dir", str(precious))
    assert "not made by `coachgraph demo`" in one_line_error(run)
    assert (precious / "notes.txt").read_text() == "keep me"
    demo_dir = tmp_path / "demo"
    assert cli("demo", "--dir", str(demo_dir)).code == 0
    assert cli("demo", "--dir", str(demo_dir)).code == 0  # its own directory is recreated


def assert_sent_in_windows_and_caps(db_url: str) -> None:
    """Every demo send arrived Mon-Fri 09:00-17:00 in its contact's timezone, 12 a day at most."""
    crm = CrmStore(db_url)
    zones = {c["email"]: c["timezone"] or "UTC" for c in crm.list_contacts()}
    sent = [r for r in list_outbox(crm) if r["status"] == "sent"]
    assert sent
    for row in sent:
        local = parse_instant(row["sent_at"]).astimezone(ZoneInfo(zones[row["to"]]))
        assert local.weekday() < 5 and 9 <= local.hour < 17, (row["to"], local)
    per_day = Counter(parse_instant(r["sent_at"]).date() for r in sent)
    assert max(per_day.values()) <= 12, per_day


def assert_every_touch_new_and_on_purpose(db_url: str) -> None:
    """No contact got two touches with the same body, opening or fact (SPEC §6).

    Each drafted touch does its position's job: not the body a person rewrote, nor a first
    touch that answers a contact who wrote first.
    """
    crm = CrmStore(db_url)
    with crm.connect() as conn:
        sent = conn.execute(
            select(outbox.c.to_email, outbox.c.touch, outbox.c.body)
            .where(outbox.c.status == "sent")
            .order_by(outbox.c.to_email, outbox.c.touch)
        ).all()
        facts = conn.execute(
            select(contacts.c.email, company_facts.c.fact).join(
                company_facts, company_facts.c.company_domain == contacts.c.company_domain
            )
        ).all()
        wrote_first = set(
            conn.execute(
                select(contacts.c.email)
                .join(messages, messages.c.contact_id == contacts.c.id)
                .where(messages.c.direction == "in")
            ).scalars()
        )
    by_contact: dict[str, list[dict[str, object]]] = {}
    for to, touch, body in sent:
        by_contact.setdefault(to, []).append({"touch": touch, "subject": None, "body": body})
    assert sum(len(t) >= 4 for t in by_contact.values()) >= 5  # whole sequences, not one touch
    for to, touches in by_contact.items():
        known = [{"fact": f} for email, f in facts if email == to]
        verdict = novelty({"facts": known}, {"touches": touches}, {})
        assert verdict["score"] == 1.0, (to, verdict["comment"])
        for touch in touches:
            if str(touch["body"]).startswith(EDITED_BODY[:40]):
                continue  # the person's own words
            if touch["touch"] == 1 and to in wrote_first:
                continue  # the contact wrote first: touch 1 answers them (a reply)
            assert purpose_problems(touch) == [], (to, touch)
