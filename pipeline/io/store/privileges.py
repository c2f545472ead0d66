"""What a job's database role needs, and how a missing right reads: one line naming it."""

from __future__ import annotations

from pipeline.io.store.tables import SOURCE_TABLES

_READ = ("SELECT",)
_WRITE = ("SELECT", "INSERT", "UPDATE")
JOB_PRIVILEGES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(SOURCE_TABLES, _READ),
    "algo_versions": _READ,
    "algo_params": _READ,
    "algo_runs": _WRITE,
    "user_theme_mastery": _WRITE,
    "mastery_exclusions": _READ,
    "mastery_user_fingerprints": _WRITE,  # `recompute --incremental` (pipeline.run.incremental)
    "mastery_follow_state": _WRITE,  # `mastery follow`'s watermark (pipeline.run.follow)
}
"""The table rights a recompute (merge mode) uses, besides USAGE on the schema and TEMPORARY on
the database (its staging table): it reads the source tables and the registry, inserts and
updates its ``algo_runs`` row, and upserts (``INSERT ... ON CONFLICT DO UPDATE``, which also
reads) and refreshes (``UPDATE``) ``user_theme_mastery``. Nothing is deleted; a rebuild
(a new table swapped in by renames) needs ownership of ``user_theme_mastery`` and CREATE on its
schema instead."""


def no_roles_message(role: str) -> str:
    """Why ``--grant-to`` is refused on an embedded store."""
    return (
        f"--grant-to {role}: DuckDB has no roles or grants (whoever can open the file may do "
        "everything); grant to a role on a Postgres --database-url"
    )


def permission_message(privilege: str, target: str, role: str) -> str:
    """One line naming the right a role lacks and what to do about it."""
    return (
        f"permission denied: the job needs {privilege} on {target} (connected as {role}); "
        f"the tables' owner can grant what runs need with `mastery init --grant-to {role}`"
    )
