{{create_temp_table}} fingerprint_stage (
    user_id text NOT NULL,
    fingerprint text NOT NULL,
    as_of text NOT NULL,
    run_id text NOT NULL
){{on_commit_drop}}
