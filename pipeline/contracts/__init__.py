"""The bottom layer: what every other layer agrees on — errors, params, scope, frame schemas.

Nothing here reads a database, a file or the clock.
"""
