"""Statements valid on both stores, written with :name parameters."""
