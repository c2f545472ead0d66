"""The kernel against SPEC §4, one module per section, hand-worked literal expectations."""
