"""Rasterizer backends and what is derived from a raster."""
