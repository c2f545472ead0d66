SELECT id FROM blocks
