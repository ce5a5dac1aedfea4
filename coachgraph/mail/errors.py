"""How a send can fail: refused (safe to try again), rejected for the recipient, or ambiguous."""

from __future__ import annotations

from typing import ClassVar


class SendError(Exception):
    """Sending one message failed.

    `retryable` is True only when the message was definitely not accepted, so handing the
    same message over again cannot deliver it twice. It says nothing about whether a retry
    would succeed: `smtp_code` (when the server answered) tells a 4xx transient refusal
    from a 5xx permanent one.
    """

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code
        """The server's reply code, when a reply caused the failure."""


class SendRefused(SendError):
    """The message was definitely not accepted; it is safe to send it again later.

    E.g. a 4xx/5xx reply to MAIL, RCPT, DATA or the end of data, a refused or unresolvable
    connection, a failed login or STARTTLS, a connection lost before the whole message was
    written, or an outbox folder that cannot be written.
    """

    retryable: ClassVar[bool] = True


class RecipientRejected(SendRefused):
    """The server refused the recipient permanently (5xx at RCPT): a hard bounce.

    The address is bounced and suppressed everywhere; the message is never retried.
    """


class SendAmbiguous(SendError):
    """The message may or may not have been accepted; never resend without a person.

    The whole message was written, but the connection dropped or timed out (or the reply
    was unreadable) before the server's final answer to it.
    """
