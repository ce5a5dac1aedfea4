"""Sending: building messages, the file and SMTP transports, and the at-most-once outbox."""
