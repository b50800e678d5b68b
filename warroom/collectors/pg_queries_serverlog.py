"""The SQL behind the server-log reader and `warroom doctor`'s log check (psycopg, %s params).

Where the log is and what this role may do with it (one probe row), which file is current, and
reading a file through the server when it is not on this host.
"""

from __future__ import annotations

PROBE_SQL = """
SELECT current_user,
       -- each NULL where this role may not see it (pg_read_all_settings, a part of pg_monitor)
       (SELECT setting FROM pg_settings WHERE name = 'logging_collector'),
       (SELECT setting FROM pg_settings WHERE name = 'log_destination'),
       (SELECT setting FROM pg_settings WHERE name = 'log_line_prefix'),
       (SELECT setting FROM pg_settings WHERE name = 'log_directory'),
       (SELECT setting FROM pg_settings WHERE name = 'data_directory'),
       current_setting('port')::int,
       extract(epoch FROM pg_postmaster_start_time())::float8,
       has_function_privilege('pg_current_logfile(text)', 'EXECUTE'),
       has_function_privilege('pg_ls_logdir()', 'EXECUTE'),
       has_function_privilege('pg_read_binary_file(text,bigint,bigint,boolean)', 'EXECUTE')
"""

CURRENT_SQL = "SELECT pg_current_logfile(%s)"

# pg_current_logfile() is the superuser's by default: a pg_monitor role takes the newest file
# of the format's suffix in pg_ls_logdir() instead (the server's own naming: .csv, .json).
NEWEST_SQL = """
SELECT name FROM pg_ls_logdir() WHERE (name ~ '[.](csv|json)$') = %s AND name ~ %s
ORDER BY modification DESC, name DESC LIMIT 1
"""

# The size of a log file, and a slice of it (missing_ok: a file rotated away reads as NULL).
SIZE_SQL = """
SELECT size FROM pg_ls_logdir() WHERE name = regexp_replace(%s, '^.*/', '')
"""
READ_SQL = "SELECT pg_read_binary_file(%s, %s, %s, true)"
