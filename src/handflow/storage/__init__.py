"""Atomic writes and on-disk stores."""
