"""Affordance Diffusion (Ye et al., CVPR 2023): where a hand goes on an object (LayoutNet), then what it looks like (ContentNet).

The embedded HOI4D tree (`objects`, `grasp`, `generator`), HO3Pairs (`ho3pair`, `pairs`) and
their files read back (`pair_data`), the networks and their one loader (`layout`, `networks`),
their training (`train`), the hand-pose reading (`handpose`), sampling and
editing (`sample`, `edit`, `infer`), and the evaluation and table (`evaluate`,
`hand_contact`, `report`); stages in `commands`, rules in workflow/rules/affordance.smk.
"""
