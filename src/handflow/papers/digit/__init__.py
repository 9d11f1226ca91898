"""DIGIT (Fan et al., 3DV 2021): two-hand 3D pose from one image via per-pixel part segmentation.

End to end: the image and part-segmentation LMDBs, training of DIGIT and its
no-segmentation ablation, evaluation (MPJPE, MRRPE, handedness, mIoU) and the table.
See shared/reference/seed-digit-interhand.md for the seed.
"""
