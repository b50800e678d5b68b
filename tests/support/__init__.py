"""Test helpers shared by the suite: a throwaway PostgreSQL cluster and a local TCP proxy."""
