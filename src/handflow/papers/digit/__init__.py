"""DIGIT (Fan et al., 3DV 2021): two-hand 3D pose from one image via per-pixel part segmentation.

So far its data stages: the image LMDB and the part-segmentation LMDB. Training and
evaluation are still to come (issue 4).
"""
