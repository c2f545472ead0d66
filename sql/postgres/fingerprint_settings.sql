-- For the fingerprint statement on this (short-lived) connection: no JIT, whose compile time
-- exceeds the gain on a few seconds of hashing; memory enough that its joins hash in one batch.
SELECT set_config('jit', 'off', false), set_config('work_mem', '64MB', false)
