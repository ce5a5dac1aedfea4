"""Errors a user can act on: the CLI prints them as one line and exits 1."""


class UserError(Exception):
    """Something the user gave us is wrong; the message names it and what to do."""


class NotFoundError(UserError):
    """A contact, company, campaign or thread id that does not exist."""


class ConfigError(UserError):
    """A setting that cannot work (e.g. half an SMTP login): no thread is charged for it."""
