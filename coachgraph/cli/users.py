"""`coachgraph user add NAME`: a web inbox user (SPEC §16, §17)."""

from __future__ import annotations

import sys

import click

from coachgraph.cli.app import _crm, app, text
from coachgraph.store.users import add_user
from schemas.errors import UserError


@app.group("user")
def user_group() -> None:
    """People who sign in to the web inbox."""


@user_group.command("add")
@click.argument("name")
def user_add(name: str) -> None:
    """Add a web inbox user; the password is the first line of standard input."""
    password = _read_password()
    add_user(_crm(), name, password)
    text.print(f"added user {name}")


def _read_password() -> str:
    """Prompted twice (hidden) on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line:
        raise UserError(
            "no password on standard input: pipe it in, e.g. `echo … | coachgraph user add NAME`"
        )
    return line.rstrip("\r\n")
