"""Inbound mail (SPEC §11a): read an IMAP folder, classify each message, match and apply it.

`classify` is pure (bytes in, a `Classified` out); `match` finds the thread and contact;
`apply` writes a message's effects with its row and its UID in one transaction; `imap`
runs a poll. Inbound text is data: it can only narrow who is contacted.
"""
