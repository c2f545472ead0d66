-- Every block's name: the per-block roll-up of the cohort view.
SELECT id AS block_id, name AS block_name FROM blocks
