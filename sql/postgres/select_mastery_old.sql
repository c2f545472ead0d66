-- The table an earlier rebuild swapped out and could not drop yet (null when there is none).
SELECT CAST(to_regclass('user_theme_mastery_old') AS text)
