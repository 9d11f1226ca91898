"""Rotations, cameras, inside tests and collision proxies."""
