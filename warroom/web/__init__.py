"""`warroom serve`: the read-only page for stakeholders, over the incident record.

Layering: this package reads the record through ``warroom.sessions`` and nothing else. It never
imports Textual, the collectors or psycopg, and it never connects to a database: the page shows
what the session file says. aiohttp (the ``web`` extra) is imported only by ``server``.
"""
