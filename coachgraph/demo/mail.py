"""The demo's inbound mail, through the same code as `coachgraph inbox poll`.

Replies, an out-of-office and a bounce land in a local mailbox; a recipient's mail
provider clicks one-click unsubscribe (RFC 8058) on the real `serve` app.
"""

from __future__ import annotations

import mailbox
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from starlette.testclient import TestClient

from checkpoints.threads import parse_thread_id
from coachgraph.inbound.apply import Outcome
from coachgraph.inbound.maildir import read_maildir
from coachgraph.mail.outbox import earlier_sends
from coachgraph.mail.unsubscribe import ONE_CLICK_BODY
from coachgraph.store.crm import CrmStore
from coachgraph.web.app import create_app
from schemas.context import Context

SENDER = "sam@coachgraph.example"


def deliver_reply(folder: Path, thread: str, crm: CrmStore, body: str, at: datetime) -> None:
    """A person's answer to the thread's last touch, as their mail client would send it."""
    message = _answer(thread, crm, at)
    message.set_content(f"{body}\n\nOn an earlier day, Sam wrote:\n> (our last email)\n")
    _drop(folder, message)


def deliver_out_of_office(folder: Path, thread: str, crm: CrmStore, at: datetime) -> None:
    """An automatic out-of-office answer: recorded, and the thread goes on."""
    message = _answer(thread, crm, at, subject_prefix="Out of office: ")
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I am out of the office until Monday with limited access to email.")
    _drop(folder, message)


def deliver_bounce(folder: Path, thread: str, crm: CrmStore, at: datetime) -> None:
    """A delivery-status notification (RFC 3464): the address does not exist."""
    to, message_id, _ = _last_sent(thread, crm)
    dsn = _DSN.format(
        date=format_datetime(at),
        id=make_msgid(domain="mx.demo.example"),
        sender=SENDER,
        to=to,
        original=message_id,
    )
    mailbox.Maildir(folder, create=True).add(dsn.replace("\n", "\r\n").encode())


_DSN = """From: MAILER-DAEMON@mx.demo.example (Mail Delivery System)
To: {sender}
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: {id}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-demo"

--dsn-demo
Content-Type: text/plain; charset=us-ascii

Your message to <{to}> could not be delivered: 550 5.1.1 user unknown.

--dsn-demo
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.demo.example

Final-Recipient: rfc822; {to}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--dsn-demo
Content-Type: text/rfc822-headers

From: {sender}
To: {to}
Message-ID: {original}

--dsn-demo--
"""


def read_mailbox(crm: CrmStore, folder: Path, now: datetime) -> list[Outcome]:
    """What the inbox poll does with everything that arrived."""
    return read_maildir(crm, folder, now)


def one_click_unsubscribe(context: Context, to: str) -> int:
    """POST the one-click link of the last message sent to `to`, as a mail provider does."""
    sent = [m for m in mailbox.Maildir(context.outbox_dir).values() if m["To"] == to]
    latest = max(sent, key=lambda m: str(m["Date"]))
    link = " ".join(str(latest["List-Unsubscribe"]).split()).split(">")[0].lstrip("<")
    with TestClient(create_app(context), base_url=context.public_url or "https://x") as client:
        answer = client.post(link, content=ONE_CLICK_BODY, headers=_FORM)
    return answer.status_code


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _answer(thread: str, crm: CrmStore, at: datetime, subject_prefix: str = "Re: ") -> EmailMessage:
    to, message_id, subject = _last_sent(thread, crm)
    message = EmailMessage()
    message["From"] = to
    message["To"] = SENDER
    message["Subject"] = subject_prefix + subject.removeprefix("Re: ")
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain=to.rpartition("@")[2])
    message["In-Reply-To"] = message["References"] = message_id
    return message


def _last_sent(thread: str, crm: CrmStore) -> tuple[str, str, str]:
    """(recipient, Message-ID, subject) of the thread's last touch that went out."""
    sends = earlier_sends(crm, thread, touch=10**6)
    if not sends:
        raise RuntimeError(f"demo: {thread} has sent nothing to answer yet")
    message_id, subject = sends[-1]
    contact_id = parse_thread_id(thread)[1]
    contact = crm.get_contact(contact_id)
    return (contact["email"] if contact else ""), message_id, subject


def _drop(folder: Path, message: EmailMessage) -> None:
    box = mailbox.Maildir(folder, create=True)
    box.add(message.as_bytes())
