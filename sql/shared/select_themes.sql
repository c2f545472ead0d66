SELECT id, block_id FROM themes
