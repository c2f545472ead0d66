{{create_temp_table}} mastery_stage (
    {{mastery_stage_columns}}
){{on_commit_drop}}
