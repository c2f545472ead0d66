SELECT CAST(current_user AS text)
