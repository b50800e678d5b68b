"""The incident record: model, TOML store, postmortem draft. Knows nothing of Textual or psycopg."""
