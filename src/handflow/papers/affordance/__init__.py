"""Affordance Diffusion (Ye et al., CVPR 2023): where a hand goes on an object (LayoutNet), then what it looks like (ContentNet).

Work in progress (issue 14): the layout parameterisation and its renderers (layout.py) and the
first HO3Pair steps, palette masks, object crop and keep-mask (ho3pair.py); no stage yet.
"""
