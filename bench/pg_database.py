"""The PostgreSQL database a benchmark keeps its data in between runs."""

import sys
from urllib.parse import urlsplit


def ensure_database(url: str) -> None:
    """Create the database of ``url`` unless it exists; a benchmark's data is
    seeded once and reused by later runs."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: give a postgres:// URL.")
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
