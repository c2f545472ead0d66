-- Students with no attempt in the window of any stored row: no row of theirs has attempts > 0
-- (they appear in no other figure of the cohort view).
SELECT count(*) AS n
FROM users AS u
WHERE
    u.role = :role
    AND NOT EXISTS (
        SELECT 1 FROM user_theme_mastery AS m WHERE m.user_id = u.id AND m.attempts_total > 0
    )
