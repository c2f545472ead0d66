"""Postgres dialect SQL."""
