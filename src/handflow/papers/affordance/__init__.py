"""Affordance Diffusion (Ye et al., CVPR 2023): where a hand goes on an object (LayoutNet), then what it looks like (ContentNet).

Work in progress (issue 14): the layout parameterisation and its renderers so far; no stage yet.
"""
