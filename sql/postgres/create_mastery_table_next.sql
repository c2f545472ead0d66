-- The table a rebuild fills while readers keep reading user_theme_mastery; swapped in at the end.
DROP TABLE IF EXISTS user_theme_mastery_next;
CREATE TABLE user_theme_mastery_next (
    LIKE user_theme_mastery
    INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE
    INCLUDING COMMENTS INCLUDING COMPRESSION
)
