"""Data sources: PostgreSQL, PgBouncer, the host. They know nothing of Textual or of sessions."""
