-- The student whose email is given to `report weak-themes --user` (emails are unique).
SELECT CAST(id AS text) AS user_id, email FROM users WHERE email = :email
