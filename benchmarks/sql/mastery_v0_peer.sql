-- Mastery v0 (SPEC §4) as one statement inside Postgres: what a skilled engineer would write
-- instead of the pipeline. Default bucket shape (7/30/90 days), use_difficulty off; every
-- rounding on exact numerics (round() on numeric is half away from zero). Benchmark peer only:
-- no stale-row refresh, no data-quality counts.
WITH attempts AS (
    SELECT
        s.user_id,
        a.question_id,
        a.is_correct,
        a.answered_at,
        s.submitted_at,
        qv.year AS qv_year,
        qv.block_id AS qv_block_id,
        qv.theme_id AS qv_theme_id,
        CASE WHEN jsonb_typeof(sq.snapshot_json) = 'object' THEN sq.snapshot_json END AS snap
    FROM test_sessions AS s
    JOIN session_answers AS a ON a.session_id = s.id
    JOIN session_questions AS sq ON sq.session_id = a.session_id AND sq.question_id = a.question_id
    LEFT JOIN question_versions AS qv ON qv.id = sq.question_version_id
    WHERE s.status IN ('SUBMITTED', 'EXPIRED')
        AND s.submitted_at BETWEEN CAST(%(as_of)s AS timestamptz) - make_interval(days => %(lookback_days)s)
            AND CAST(%(as_of)s AS timestamptz)
        AND (a.answered_at IS NULL OR a.answered_at <= CAST(%(as_of)s AS timestamptz))
),
snapshot_tags AS (
    SELECT
        attempts.*,
        CASE jsonb_typeof(snap -> 'year')
            WHEN 'number' THEN CASE WHEN (snap ->> 'year')::numeric = trunc((snap ->> 'year')::numeric)
                AND abs((snap ->> 'year')::numeric) < 2147483648 THEN (snap ->> 'year')::numeric::int END
            WHEN 'string' THEN CASE WHEN (snap ->> 'year') ~ '^[0-9]{1,9}$' THEN (snap ->> 'year')::int END
        END AS snap_year,
        CASE jsonb_typeof(snap -> 'block_id')
            WHEN 'number' THEN CASE WHEN (snap ->> 'block_id')::numeric = trunc((snap ->> 'block_id')::numeric)
                AND abs((snap ->> 'block_id')::numeric) < 2147483648 THEN (snap ->> 'block_id')::numeric::int END
            WHEN 'string' THEN CASE WHEN (snap ->> 'block_id') ~ '^[0-9]{1,9}$' THEN (snap ->> 'block_id')::int END
        END AS snap_block_id,
        CASE jsonb_typeof(snap -> 'theme_id')
            WHEN 'number' THEN CASE WHEN (snap ->> 'theme_id')::numeric = trunc((snap ->> 'theme_id')::numeric)
                AND abs((snap ->> 'theme_id')::numeric) < 2147483648 THEN (snap ->> 'theme_id')::numeric::int END
            WHEN 'string' THEN CASE WHEN (snap ->> 'theme_id') ~ '^[0-9]{1,9}$' THEN (snap ->> 'theme_id')::int END
        END AS snap_theme_id
    FROM attempts
),
resolved AS (
    SELECT
        user_id,
        question_id,
        coalesce(is_correct, false) AS correct,
        answered_at,
        submitted_at,
        coalesce(coalesce(qv_year, snap_year), 1) AS year,
        coalesce(qv_block_id, snap_block_id) AS block_id,
        coalesce(qv_theme_id, snap_theme_id) AS theme_id
    FROM snapshot_tags
),
totals AS (
    SELECT
        user_id,
        theme_id,
        count(*) AS n,
        count(*) FILTER (WHERE correct) AS c,
        max(answered_at) AS last_attempt_at,
        count(*) FILTER (WHERE answered_at >= CAST(%(as_of)s AS timestamptz) - interval '7 days') AS n7,
        count(*) FILTER (WHERE correct AND answered_at >= CAST(%(as_of)s AS timestamptz) - interval '7 days') AS c7,
        count(*) FILTER (WHERE answered_at >= CAST(%(as_of)s AS timestamptz) - interval '30 days') AS n30,
        count(*) FILTER (WHERE correct AND answered_at >= CAST(%(as_of)s AS timestamptz) - interval '30 days') AS c30,
        count(*) FILTER (WHERE answered_at >= CAST(%(as_of)s AS timestamptz) - interval '90 days') AS n90,
        count(*) FILTER (WHERE correct AND answered_at >= CAST(%(as_of)s AS timestamptz) - interval '90 days') AS c90
    FROM resolved
    WHERE theme_id IS NOT NULL
    GROUP BY user_id, theme_id
),
identity AS (
    SELECT DISTINCT ON (user_id, theme_id) user_id, theme_id, year, block_id
    FROM resolved
    WHERE theme_id IS NOT NULL AND block_id IS NOT NULL
    ORDER BY user_id, theme_id, answered_at DESC NULLS LAST, submitted_at DESC, question_id DESC
),
scored AS (
    SELECT
        t.*,
        i.year,
        i.block_id,
        CASE WHEN n7 > 0 THEN round(c7 * %(w7)s::numeric / n7, 4) ELSE 0 END AS k7,
        CASE WHEN n30 > 0 THEN round(c30 * %(w30)s::numeric / n30, 4) ELSE 0 END AS k30,
        CASE WHEN n90 > 0 THEN round(c90 * %(w90)s::numeric / n90, 4) ELSE 0 END AS k90,
        CASE WHEN n7 > 0 THEN round(c7::numeric / n7, 4) ELSE 0 END AS a7,
        CASE WHEN n30 > 0 THEN round(c30::numeric / n30, 4) ELSE 0 END AS a30,
        CASE WHEN n90 > 0 THEN round(c90::numeric / n90, 4) ELSE 0 END AS a90
    FROM totals AS t
    JOIN identity AS i USING (user_id, theme_id)
    JOIN themes AS th ON th.id = t.theme_id
    JOIN blocks AS b ON b.id = i.block_id
)
INSERT INTO user_theme_mastery AS m (
    id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,
    mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id, breakdown_json
)
SELECT
    gen_random_uuid(), user_id, year, block_id, theme_id, n, c,
    round(100.0 * c / n, 2),
    CASE WHEN n < %(min_attempts)s THEN 0 ELSE k7 + k30 + k90 END,
    last_attempt_at, now(), %(algo_version_id)s, %(params_id)s, %(run_id)s,
    CASE WHEN n < %(min_attempts)s THEN jsonb_build_object(
        'reason', 'insufficient_attempts', 'required', %(min_attempts)s, 'actual', n)
    ELSE jsonb_build_object(
        'total_attempts', n,
        'buckets', jsonb_build_object(
            '7d', jsonb_build_object('attempts', n7, 'correct', c7, 'accuracy', trim_scale(a7),
                'weight', %(w7)s::numeric, 'contribution', trim_scale(k7)),
            '30d', jsonb_build_object('attempts', n30, 'correct', c30, 'accuracy', trim_scale(a30),
                'weight', %(w30)s::numeric, 'contribution', trim_scale(k30)),
            '90d', jsonb_build_object('attempts', n90, 'correct', c90, 'accuracy', trim_scale(a90),
                'weight', %(w90)s::numeric, 'contribution', trim_scale(k90))),
        'mastery_score', trim_scale(k7 + k30 + k90),
        'use_difficulty', false)
    END
FROM scored
ON CONFLICT (user_id, theme_id) DO UPDATE SET
    year = excluded.year, block_id = excluded.block_id,
    attempts_total = excluded.attempts_total, correct_total = excluded.correct_total,
    accuracy_pct = excluded.accuracy_pct, mastery_score = excluded.mastery_score,
    last_attempt_at = excluded.last_attempt_at, computed_at = excluded.computed_at,
    algo_version_id = excluded.algo_version_id, params_id = excluded.params_id,
    run_id = excluded.run_id, breakdown_json = excluded.breakdown_json
