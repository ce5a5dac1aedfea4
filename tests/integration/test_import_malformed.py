"""Malformed CSV: one line per bad row, exit 1, and every good row around it imported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from coachgraph.store import importer
from coachgraph.store.crm import CrmStore
from schemas.errors import UserError
from tests.integration.conftest import Run, import_text, one_line_error

pytestmark = pytest.mark.integration

HEADER = "id,email,first_name\n"


def _rejected(run: Run) -> list[str]:
    return [
        line.removeprefix("rejected: ") for line in run.err.splitlines() if "rejected: " in line
    ]


def _ids(empty_crm: str) -> list[str]:
    return [c["id"] for c in CrmStore(empty_crm).list_contacts()]


def test_a_field_over_128_kib_is_one_row_error(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    body = HEADER + "a1,a1@acme.example,Ada\n" + "a2,a2@acme.example," + "y" * 200_000 + "\n"
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body + "a3,a3@acme.example,Cy\n")
    assert [r.split(":")[0] for r in _rejected(run)] == ["contacts.csv row 3, field first_name"]
    one_line_error(run)
    assert _ids(empty_crm) == ["a1", "a3"]


def test_a_field_over_1_mib_is_a_row_error_and_reading_carries_on(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    # Python's csv reader starts afresh on the line after an error: rows after it import.
    huge = "b2,b2@acme.example," + "y" * (1 << 20) + "x\n"
    body = HEADER + "b1,b1@acme.example,Bo\n" + huge + "b3,b3@acme.example,Cy\n"
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body)
    assert _rejected(run) == ["contacts.csv row 3, field -: field longer than 1 MiB"]
    assert "1 row(s) of contacts.csv rejected; the other 2 were imported" in one_line_error(run)
    assert _ids(empty_crm) == ["b1", "b3"]


def test_an_unterminated_quote_in_the_last_field_is_named(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    body = HEADER + 'c1,c1@acme.example,Cy\nc2,c2@acme.example,"Dee\n'
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body)
    assert _rejected(run) == [
        "contacts.csv row 3, field -: unterminated quoted field from line 3 to the end of the file"
    ]
    one_line_error(run)
    assert _ids(empty_crm) == ["c1"]


def test_an_unterminated_quote_that_runs_to_the_end_names_the_rows_it_took(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    rows = 'd1,d1@acme.example,"Dee\nd2,d2@acme.example,Eve\nd3,d3@acme.example,Fay\n'
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", HEADER + "\n" + rows)
    # A blank line moves the lines, not the row numbers.
    assert _rejected(run) == [
        "contacts.csv row 2 (lines 3-5), field -: unterminated quoted field from line 3 to the "
        "end of the file; rows on lines 4-5 were not imported"
    ]


def test_an_unmatched_quote_mid_file_names_the_lines_it_joined(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    body = (
        HEADER
        + "e1,e1@acme.example,Ed\n"
        + 'e2,e2@acme.example,"Fay\n'  # the quote that never closes on its own line
        + "e3,e3@acme.example,Gus\n"
        + 'e4,e4@acme.example,Hal"\n'  # ... closes here, at the end of line 5
        + "e5,e5@acme.example,Ida\n"
    )
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body)
    assert _rejected(run) == [
        "contacts.csv row 3 (lines 3-5), field first_name: contains a line break — an "
        "unmatched quote joined lines 3-5 into one row; rows on lines 4-5 were not imported"
    ]
    assert "1 row(s) of contacts.csv rejected; the other 2 were imported" in one_line_error(run)
    assert _ids(empty_crm) == ["e1", "e5"]


def test_an_unmatched_quote_closed_mid_line_names_the_lines_it_joined(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    body = (
        HEADER
        + 'f1,f1@acme.example,"Fay\n'
        + 'f2,f2@acme.example,"Gus"\n'  # the first quote here closes the open one
        + "f3,f3@acme.example,Hal\n"
    )
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body)
    assert _rejected(run) == [
        "contacts.csv row 2 (lines 2-3), field -: text after a closing quote (a quote inside "
        "a field is written as two) — an unmatched quote joined lines 2-3 into one row; the "
        "row on line 3 was not imported"
    ]
    assert _ids(empty_crm) == ["f3"]


def test_text_after_a_closing_quote_on_one_line(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    body = HEADER + 'g1,g1@acme.example,"Gus"sie\ng2,g2@acme.example,Hal\n'
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body)
    assert _rejected(run) == [
        "contacts.csv row 2, field -: text after a closing quote (a quote inside a field is "
        "written as two)"
    ]
    assert _ids(empty_crm) == ["g2"]


def test_multiline_history_bodies_still_import_and_later_lines_are_named(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    assert (
        import_text(cli, tmp_path, "contacts", "c.csv", "id,email\nk1,k1@acme.example\n").code == 0
    )
    body = (
        "contact_id,direction,subject,body,at\n"
        'k1,in,Pricing,"Hi Sam,\nWhat does it cost?\nThanks",2026-11-01T09:00:00Z\n'
        'k1,sideways,Oops,"two\nlines",2026-11-01T10:00:00Z\n'
    )
    run = import_text(cli, tmp_path, "history", "history.csv", body)
    # A line break in a body is legitimate: the row is named by its lines, with no talk of
    # an unmatched quote.
    assert _rejected(run) == [
        "history.csv row 3 (lines 5-6), field direction: Input should be 'in' or 'out'"
    ]
    assert CrmStore(empty_crm).history("k1")[0]["body"] == "Hi Sam,\nWhat does it cost?\nThanks"


def test_more_values_than_columns_is_a_row_error(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    body = HEADER + "h1,h1@acme.example,Hal,extra\nh2,h2@acme.example,Ida\n"
    run = import_text(cli, tmp_path, "contacts", "contacts.csv", body)
    assert _rejected(run) == ["contacts.csv row 2, field -: more values than header columns"]
    assert _ids(empty_crm) == ["h2"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("not-an-email,", "field email: not an (ASCII) email address: 'not-an-email'"),
        (",abc", "field email_sha256: email_sha256 must be 64 hex characters"),
        (",", "field -: needs email or email_sha256"),
    ],
)
def test_suppression_errors_name_their_field(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path, row: str, expected: str
) -> None:
    body = f"email,email_sha256\nok@acme.example,\n{row}\n"
    run = import_text(cli, tmp_path, "suppression", "suppression.csv", body)
    assert _rejected(run) == [f"suppression.csv row 3, {expected}"]
    assert CrmStore(empty_crm).suppression_reason("ok@acme.example") == "suppressed"


def test_json_reports_the_lines_of_a_joined_row(
    cli: Callable[..., Run], empty_crm: str, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + 'j1,j1@acme.example,"Jo\nj2,j2@acme.example,Kim"\n')
    report = json.loads(cli("import", "contacts", str(path), "--json").out)
    assert report["rejected"][0]["row"] == 2
    assert report["rejected"][0]["lines"] == [2, 3]


def test_the_utf8_check_names_the_bad_byte_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny blocks split the two-byte "é" between reads: that is still UTF-8.
    monkeypatch.setattr(importer, "READ_BLOCK", 3)
    path = tmp_path / "contacts.csv"
    path.write_bytes("id,email\nl1,léa@acme.example\n".encode())
    importer.require_utf8(path)
    path.write_bytes("id,email\nl1,léa@acme.example\n".encode() + b"l2,l\xe9a@acme.example\n")
    with pytest.raises(UserError, match=r"byte 0xe9 on line 3, byte offset 34\)"):
        importer.require_utf8(path)
    path.write_bytes(b"id,email\nl1,l\xc3")  # a character cut off by the end of the file
    with pytest.raises(UserError, match=r"byte 0xc3 on line 2, byte offset 13\)"):
        importer.require_utf8(path)
