UPDATE algo_params SET is_active = true WHERE id = :id
