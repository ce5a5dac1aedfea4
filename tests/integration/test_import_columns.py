"""Imports write only the columns a file names, never lift a block, and stream big files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from coachgraph.store.crm import CONTACT_FLAGS, CrmStore, contacts, suppression
from coachgraph.store.importer import import_file
from schemas.values import email_sha256
from tests.integration.conftest import Run, import_text, one_line_error

pytestmark = pytest.mark.integration


@pytest.fixture
def db(any_db: str, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised, empty database: a SQLite file, then a throwaway Postgres database."""
    monkeypatch.setenv("COACHGRAPH_DB", any_db)
    assert cli("init").code == 0
    return any_db


def _listed(cli: Callable[..., Run]) -> dict[str, dict[str, Any]]:
    run = cli("contacts", "list", "--json")
    assert run.code == 0, run.err
    return {c["id"]: c for c in json.loads(run.out)}


FULL_CONTACT = (
    "id,email,first_name,last_name,title,do_not_contact,bounced,unsubscribed,replied\n"
    "p1,ada@acme.example,Ada,Lovelace,CTO,false,false,true,false\n"
)


def test_a_partial_contacts_file_keeps_the_columns_it_does_not_name(
    cli: Callable[..., Run], db: str, tmp_path: Path
) -> None:
    assert import_text(cli, tmp_path, "contacts", "full.csv", FULL_CONTACT).code == 0
    partial = "id,email,title\np1,ada@acme.example,VP Engineering\np2,bo@acme.example,CFO\n"
    run = import_text(cli, tmp_path, "contacts", "partial.csv", partial)
    assert run.code == 0, run.err
    stored = _listed(cli)
    assert stored["p1"]["title"] == "VP Engineering"
    assert (stored["p1"]["first_name"], stored["p1"]["last_name"]) == ("Ada", "Lovelace")
    assert stored["p1"]["unsubscribed"] is True
    # A new row gets the defaults for the columns the file leaves out.
    assert stored["p2"]["first_name"] is None
    assert not any(stored["p2"][f] for f in CONTACT_FLAGS)


def test_json_objects_write_only_their_own_keys_and_blank_means_empty(
    cli: Callable[..., Run], db: str, tmp_path: Path
) -> None:
    assert import_text(cli, tmp_path, "contacts", "full.csv", FULL_CONTACT).code == 0
    items = [
        {"id": "p1", "email": "ada@acme.example", "last_name": ""},
        {"id": "p3", "email": "cy@acme.example", "first_name": "Cy", "title": "COO"},
    ]
    run = import_text(cli, tmp_path, "contacts", "partial.json", json.dumps(items))
    assert run.code == 0, run.err
    stored = _listed(cli)
    assert stored["p1"]["first_name"] == "Ada" and stored["p1"]["title"] == "CTO"
    assert stored["p1"]["last_name"] is None
    assert (stored["p3"]["first_name"], stored["p3"]["title"]) == ("Cy", "COO")


def test_reimporting_empty_or_false_flags_never_lifts_a_block(
    cli: Callable[..., Run], db: str, tmp_path: Path
) -> None:
    header = "id,email,do_not_contact,bounced,unsubscribed,replied\n"
    blocked = header + "b1,b1@acme.example,true,yes,1,t\nb2,b2@acme.example,true,true,true,true\n"
    assert import_text(cli, tmp_path, "contacts", "blocked.csv", blocked).code == 0
    cleared = header + "b1,b1@acme.example,,,,\nb2,b2@acme.example,false,no,0,f\n"
    run = import_text(cli, tmp_path, "contacts", "cleared.csv", cleared)
    assert run.code == 0, run.err
    stored = _listed(cli)
    for contact_id in ("b1", "b2"):
        assert {f: stored[contact_id][f] for f in CONTACT_FLAGS} == dict.fromkeys(
            CONTACT_FLAGS, True
        )


def test_an_import_may_still_add_a_block(cli: Callable[..., Run], db: str, tmp_path: Path) -> None:
    assert (
        import_text(cli, tmp_path, "contacts", "a.csv", "id,email\nf1,f1@acme.example\n").code == 0
    )
    added = "id,email,bounced\nf1,f1@acme.example,true\n"
    assert import_text(cli, tmp_path, "contacts", "b.csv", added).code == 0
    assert _listed(cli)["f1"]["bounced"] is True


def _suppression_rows(db_url: str) -> dict[str, dict[str, Any]]:
    with CrmStore(db_url).connect() as conn:
        rows = conn.execute(select(suppression)).all()
    return {r.email_sha256: dict(r._mapping) for r in rows}


def test_suppression_imports_only_add_and_keep_the_first_entry(
    cli: Callable[..., Run], db: str, tmp_path: Path
) -> None:
    first = import_text(
        cli, tmp_path, "suppression", "s1.csv", "email,reason\nA@acme.example,legal\n"
    )
    assert first.code == 0, first.err
    before = _suppression_rows(db)[email_sha256("a@acme.example")]
    assert before["source"] == "import" and before["reason"] == "legal"
    assert datetime.fromisoformat(before["at"]).utcoffset() == UTC.utcoffset(None)
    body = "email,reason\na@acme.example,\nnew@acme.example,manual\n"
    run = import_text(cli, tmp_path, "suppression", "s2.csv", body)
    assert run.code == 0, run.err
    assert "imported 1 suppression from s2.csv (1 already present)" in run.out
    after = _suppression_rows(db)
    assert after[email_sha256("a@acme.example")] == before
    assert after[email_sha256("new@acme.example")]["reason"] == "manual"


@pytest.mark.parametrize(
    ("kind", "full", "partial", "check"),
    [
        (
            "companies",
            "domain,name,industry\nacme.example,Acme,Logistics\n",
            "domain,industry\nacme.example,Freight\n",
            lambda crm: (
                crm.get_company("acme.example")
                == {
                    "domain": "acme.example",
                    "name": "Acme",
                    "industry": "Freight",
                }
            ),
        ),
        (
            "facts",
            "company_domain,fact,confidence,source\nacme.example,Acme grew.,0.5,news\n",
            "company_domain,fact,confidence\nacme.example,Acme grew.,0.9\n",
            lambda crm: (
                crm.top_facts("acme.example")
                == [{"fact": "Acme grew.", "confidence": 0.9, "source": "news"}]
            ),
        ),
        (
            "retention",
            "company_domain,reason\nacme.example,Renewal at risk\n",
            "company_domain\nacme.example\n",
            lambda crm: crm.retention_reason("acme.example") == "Renewal at risk",
        ),
    ],
)
def test_other_kinds_keep_the_columns_a_file_leaves_out(
    cli: Callable[..., Run],
    db: str,
    tmp_path: Path,
    kind: str,
    full: str,
    partial: str,
    check: Callable[[CrmStore], bool],
) -> None:
    company = "domain,name\nacme.example,Acme\n"
    assert import_text(cli, tmp_path, "companies", "c.csv", company).code == 0
    assert import_text(cli, tmp_path, kind, "full.csv", full).code == 0
    run = import_text(cli, tmp_path, kind, "partial.csv", partial)
    assert run.code == 0, run.err
    assert check(CrmStore(db))


def _contacts_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id,email,first_name\n")
        handle.writelines(f"x{i},p{i}@big.example,P{i}\n" for i in range(rows))
    return path


def test_a_300000_row_file_imports_whole_and_quietly(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    path = _contacts_csv(tmp_path / "contacts.csv", 300_000)
    run = cli("import", "contacts", str(path))
    assert run.code == 0, run.err
    assert run.err == ""  # no progress outside a terminal
    assert "imported 300000 contacts from contacts.csv" in run.out
    with CrmStore(empty_crm).connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 300_000


def test_progress_is_reported_after_each_chunk(empty_crm: str, tmp_path: Path) -> None:
    done: list[int] = []
    path = _contacts_csv(tmp_path / "contacts.csv", 12_000)
    report = import_file(CrmStore(empty_crm), "contacts", path, progress=done.append)
    assert report.imported == 12_000
    assert done == [5_000, 10_000, 12_000]


def test_duplicates_are_found_across_chunks(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    path = _contacts_csv(tmp_path / "contacts.csv", 7_000)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("x1,again@big.example,Again\nz1,p2@big.example,Z\n")
    run = cli("import", "contacts", str(path))
    assert "contacts.csv row 7002, field id: duplicate of row 3" in run.err
    assert "contacts.csv row 7003, field email: duplicate of row 4" in run.err
    assert "2 row(s) of contacts.csv rejected; the other 7000 were imported" in one_line_error(run)


def test_a_bad_byte_after_the_first_chunk_rejects_the_whole_file(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    # Past the first chunk of rows and the first block the UTF-8 check reads.
    path = _contacts_csv(tmp_path / "contacts.csv", 60_000)
    with path.open("ab") as handle:
        handle.write("late,léa@big.example,Léa\n".encode("latin-1"))
    line = one_line_error(cli("import", "contacts", str(path)))
    assert "contacts.csv: not UTF-8 (byte 0xe9 on line 60002" in line
    assert "nothing imported" in line
    assert CrmStore(empty_crm).list_contacts() == []
