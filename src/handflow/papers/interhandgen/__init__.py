"""InterHandGen (Lee et al., CVPR 2024): two interacting hands by cascaded diffusion.

The anchor (left) hand is generated unconditionally, then the second (right) hand
conditioned on it, with classifier-free guidance on its placement and
anti-penetration guidance. See shared/reference/seed-interhandgen.md for the seed
and the README for where we deliberately differ from it.
"""
