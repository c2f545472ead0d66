-- DuckDB's spelling of sql/postgres/fingerprint_users.sql (read that file for the contract):
-- a row's hash is DuckDB's multi-column hash (each column's hash folded into the next by a
-- multiply and xor, nulls hashed as such), hashed once more so the per-user sum does not
-- decompose by field; sums are HUGEINT. DuckDB's hash may change between DuckDB versions: then
-- every fingerprint differs and the run is a full one, never a missed change.
WITH edges AS (
    SELECT unnest(CAST(string_split(CAST(:edges AS text), ',') AS DOUBLE[])) AS e
),
window_sessions AS (
    SELECT id, user_id, submitted_at
    FROM test_sessions
    WHERE {{session_in_window(test_sessions)}}
),
answers AS (
    SELECT
        s.user_id,
        count(*) AS n,
        sum(hash(hash(a.session_id, a.question_id, a.is_correct, a.answered_at, s.submitted_at)))
            AS h,
        count(*) FILTER (
            WHERE (
                SELECT count(*) FROM edges WHERE edges.e <= epoch_us(a.answered_at) / 1000000.0
            ) % 2 = 1
        ) AS crossed
    FROM window_sessions AS s
    JOIN session_answers AS a ON a.session_id = s.id
    GROUP BY s.user_id
),
questions AS (
    SELECT
        s.user_id,
        count(*) AS n,
        sum(hash(hash(
            sq.session_id, sq.question_id, sq.question_version_id,
            qv.year, qv.block_id, qv.theme_id, qv.difficulty,
            CASE
                WHEN qv.year IS NULL OR qv.block_id IS NULL OR qv.theme_id IS NULL
                    OR qv.difficulty IS NULL
                THEN CAST(sq.snapshot_json AS text)
            END
        ))) AS h
    FROM window_sessions AS s
    JOIN session_questions AS sq ON sq.session_id = s.id
    LEFT JOIN question_versions AS qv ON qv.id = sq.question_version_id
    GROUP BY s.user_id
)
SELECT
    CAST(coalesce(answers.user_id, questions.user_id) AS text) AS user_id,
    concat(
        coalesce(answers.n, 0), ':', coalesce(answers.h, 0), '/',
        coalesce(questions.n, 0), ':', coalesce(questions.h, 0)
    ) AS fingerprint,
    coalesce(answers.crossed, 0) AS crossed
FROM answers
FULL JOIN questions ON questions.user_id = answers.user_id
