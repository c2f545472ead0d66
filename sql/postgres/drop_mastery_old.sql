-- The table a rebuild swapped out (its foreign keys make the drop lock the referenced tables,
-- so it runs after the swap's commit, under lock_timeout).
DROP TABLE IF EXISTS user_theme_mastery_old
