SELECT
    e.kind, CAST(e.session_id AS text) AS session_id, CAST(e.question_id AS text) AS question_id,
    e.theme_id, e.reason,
    (
        SELECT count(*)
        FROM session_answers a
        JOIN test_sessions s ON s.id = a.session_id
        WHERE s.user_id = CAST(:user_id AS uuid)
            AND (
                (e.kind = 'session' AND a.session_id = e.session_id)
                OR (e.kind = 'question' AND a.question_id = e.question_id)
                OR (e.kind = 'user_theme' AND EXISTS (
                    SELECT 1
                    FROM session_questions q
                    LEFT JOIN question_versions v ON v.id = q.question_version_id
                    WHERE q.session_id = a.session_id AND q.question_id = a.question_id
                        AND v.theme_id = e.theme_id
                ))
            )
    ) AS attempts
FROM mastery_exclusions e
WHERE e.revoked_at IS NULL
    AND (
        e.kind <> 'user_theme' OR e.user_id = CAST(:user_id AS uuid)
    )
    AND (
        e.kind = 'user_theme'
        OR EXISTS (
            SELECT 1 FROM session_answers a2
            JOIN test_sessions s2 ON s2.id = a2.session_id
            WHERE s2.user_id = CAST(:user_id AS uuid)
                AND (a2.session_id = e.session_id OR a2.question_id = e.question_id)
        )
    )
ORDER BY e.created_at, e.id
