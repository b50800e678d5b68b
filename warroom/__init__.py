"""warroom: a terminal war room for PostgreSQL incidents."""

__version__ = "0.1.0"
