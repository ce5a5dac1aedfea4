"""The CRM store: engines, tables, imports, the due index, suppression and the audit log."""
