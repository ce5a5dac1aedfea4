"""Keep one checkpoint per thread: finished steps are history nobody resumes from."""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

_KEEP_LATEST = """
DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id NOT IN (
    SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? GROUP BY checkpoint_ns
)
"""


def prune_thread(saver: BaseCheckpointSaver[str], thread_id: str) -> None:
    """Drop every checkpoint of a thread but the latest (with its pending writes).

    Safe for these graphs: they use no DeltaChannel, and nothing forks or replays
    from an older checkpoint. The Postgres saver has this built in; the SQLite
    saver does not, so it is done here in one transaction under the saver's lock.
    """
    if isinstance(saver, SqliteSaver):
        with saver.lock:
            saver.conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("writes", "checkpoints"):
                    saver.conn.execute(_KEEP_LATEST.format(table=table), (thread_id, thread_id))
                saver.conn.execute("COMMIT")
            except BaseException:
                saver.conn.execute("ROLLBACK")
                raise
        return
    saver.prune([thread_id], strategy="keep_latest")
