"""The SQL that reads pg_stat_statements: is it there, the totals per queryid, the texts.

The extension may live in any schema (it is asked for, then quoted into each statement), and
13 renamed its time column: the statement is chosen by server version here.
"""

from __future__ import annotations

TEXT_CHARS = 160

CHECK_SQL = (
    "SELECT json_build_array(e.extversion, n.nspname,"
    " (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'))"
    " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
    " WHERE e.extname = 'pg_stat_statements'"
)


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def numbers_sql(server_version: int, schema: str) -> str:
    """Totals per queryid, summed over databases, users and nesting levels (one statement)."""
    # 13 renamed total_time to total_exec_time (planning time is separate since then).
    total = "total_exec_time" if server_version >= 130000 else "total_time"
    fn = f"{_quote(schema)}.pg_stat_statements(false)"  # false: do not read the text file
    return (
        "SELECT coalesce(json_agg(json_build_array(queryid::text, t, c)), '[]') FROM ("
        f"SELECT queryid, sum({total}) AS t, sum(calls) AS c FROM {fn}"
        " WHERE queryid IS NOT NULL GROUP BY queryid) s"
    )


def texts_sql(schema: str) -> str:
    fn = f"{_quote(schema)}.pg_stat_statements(true)"
    return (
        "SELECT coalesce(json_object_agg(queryid::text, q), '{}') FROM ("
        f"SELECT DISTINCT ON (queryid) queryid, left(query, {TEXT_CHARS * 2}) AS q FROM {fn}"
        " WHERE queryid = ANY ($1::bigint[])) s"
    )
