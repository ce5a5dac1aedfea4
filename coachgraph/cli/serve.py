"""`coachgraph serve`: the HTTP surface (SPEC §16, §17): the web inbox and one-click unsubscribe."""

from __future__ import annotations

import click

from coachgraph.cli.app import _context, _crm, app
from schemas.errors import ConfigError


@app.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
def serve(host: str, port: int) -> None:
    """Serve the web inbox, the unsubscribe endpoint (/u/TOKEN) and /healthz until interrupted.

    The inbox (sign in at /login with a user from `coachgraph user add NAME`) lists the
    drafts waiting for approval; approve, edit, reject or send feedback on each, approve
    in bulk, and read campaign funnels, the audit log and the attention list.
    COACHGRAPH_SECRET_KEY signs sessions and unsubscribe links; with an https
    COACHGRAPH_PUBLIC_URL the session cookie is Secure.
    """
    import uvicorn

    from coachgraph.web.app import create_app

    context = _context()
    if context.secret_key is None or not context.secret_key.get_secret_value():
        raise ConfigError(
            "COACHGRAPH_SECRET_KEY is not set: serve needs it to check unsubscribe links"
        )
    _crm()  # an uninitialised database fails here, in one line, not at the first request
    # No access log: unsubscribe paths carry tokens, which must not end up in logs.
    uvicorn.run(create_app(context), host=host, port=port, log_level="info", access_log=False)
