"""Metrics shared by the papers: generative (FID/KID/diversity/precision-recall) and two-hand contact."""
