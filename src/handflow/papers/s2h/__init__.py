"""Semantics2Hands (Ye et al., ACM MM 2023): hand motion retargeting by the anatomy-based semantic matrix (ASM).

BVH motion files (`bvh`), the seed's 21-joint hand and its kinematics (`hand`, `torch_kin`),
anny's Mixamo-rigged characters (`characters`), MANO and InterHand2.6M runs (`mano_side`),
hand axes (`axes`), ASM and bs-rotations (`asm`), motions (`motions`), the MixHand tree and
its packed form (`dataset`), ASRN and DM (`networks`, their one loader; `train`), retargeting with
them (`retargeting`), the seed's test step
(`evaluate`), and the table and figure (`report`).
"""
