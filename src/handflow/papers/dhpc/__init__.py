"""Diffusion-HPC (Weng, Bravo-Sánchez, Yeung-Levy; arXiv 2303.09541): synthetic people for human mesh recovery.

Text-to-image people, their pose corrected by regressing a body, scoring it with a pose
prior and regenerating under its depth; FID/KID and person-masked H-FID/H-KID; a synthetic
training set from few-shot real frames and pose augmentation, and the downstream
fine-tuning it helps. The embedded default renders the anny body model and trains every
network here (see `networks`). The body model (`skeleton`: its vocabulary and interface;
`anny_body`, `smpl`; `body.load_body` picks one) is built once per stage and passed down;
stages in `commands`.
"""
