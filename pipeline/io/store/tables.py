"""The tables a store holds: the platform's sources and the pipeline's own."""

SOURCE_TABLES = (
    "users",
    "blocks",
    "themes",
    "questions",
    "question_versions",
    "test_sessions",
    "session_questions",
    "session_answers",
)
PIPELINE_TABLES = (
    "algo_versions",
    "algo_params",
    "algo_runs",
    "user_theme_mastery",
    "mastery_exclusions",
    "mastery_user_fingerprints",
)
FOLLOW_TABLES = ("mastery_follow_state",)
"""Only `mastery follow` needs these: a recompute on a database made before them still runs."""
