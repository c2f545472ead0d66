-- Per user with attempts in SPEC §4's window ending at :as_of, a fingerprint of what the extract
-- reads for them, and how many of their answers crossed a boundary since the previous run
-- (pipeline.run.incremental): one row per user leaves the database, not the window's attempts.
--
-- fingerprint is "count:sum/count:sum": over the window's answers (with their session's
-- submitted_at) and over the window's session questions (with the frozen tags of their version,
-- and the snapshot when the version lacks a tag: all that tag resolution reads). A row's hash
-- chains the 64-bit type hashes hash partitioning uses (stable across runs, restarts and
-- platforms), each field's hash seeding the next, so it is not a linear mix of its fields (a sum
-- of linear mixes would miss two answers swapping is_correct). Instants enter as float8 epoch
-- seconds (exact to the microsecond here; infinities too), a null as NaN or a code of its own.
-- A changed set of rows keeps both count and 64-bit sum with probability about 2^-64 per user.
-- Session questions without an answer count too: a change there only adds a candidate.
--
-- crossed: answers whose answered_at lies in one of the intervals :edges lists (epoch seconds,
-- ascending, each interval's start then its end): width_bucket counts the edges at or below
-- the instant, odd inside an interval.
WITH answers AS (
    SELECT
        s.user_id,
        count(*) AS n,
        sum(uuid_hash_extended(
            a.question_id,
            hashfloat8extended(
                coalesce(date_part('epoch', a.answered_at), CAST('NaN' AS float8)),
                uuid_hash_extended(
                    a.session_id,
                    hashfloat8extended(
                        date_part('epoch', s.submitted_at),
                        CASE a.is_correct WHEN true THEN 1 WHEN false THEN 2 ELSE 3 END
                    )
                )
            )
        )) AS h,
        count(*) FILTER (
            WHERE width_bucket(
                date_part('epoch', a.answered_at),
                CAST(string_to_array(CAST(:edges AS text), ',') AS float8[])
            ) % 2 = 1
        ) AS crossed
    FROM test_sessions AS s
    JOIN session_answers AS a ON a.session_id = s.id
    WHERE {{session_in_window(s)}}
    GROUP BY s.user_id
),
versions AS (
    SELECT
        id,
        uuid_hash_extended(id, hash_record_extended(ROW(year, block_id, theme_id, difficulty), 0))
            AS h,
        year IS NOT NULL AND block_id IS NOT NULL AND theme_id IS NOT NULL
            AND difficulty IS NOT NULL AS complete
    FROM question_versions
),
questions AS (
    SELECT
        s.user_id,
        count(*) AS n,
        sum(uuid_hash_extended(
            sq.question_id,
            uuid_hash_extended(
                sq.session_id,
                coalesce(v.h, 7) # CASE
                    WHEN v.complete THEN 0
                    ELSE hashtextextended(coalesce(CAST(sq.snapshot_json AS text), ''), 1)
                END
            )
        )) AS h
    FROM test_sessions AS s
    JOIN session_questions AS sq ON sq.session_id = s.id
    LEFT JOIN versions AS v ON v.id = sq.question_version_id
    WHERE {{session_in_window(s)}}
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
