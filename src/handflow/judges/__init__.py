"""Judges no one here trained: pretrained evaluators from registry packages, loaded offline from the installed wheels.

`hands.HandLandmarker` (MediaPipe Hands), `people.PersonLandmarker` (MediaPipe Pose with its
person mask) and `features.ImageFeatures` (EfficientNet-Lite0 ImageNet features) each take
batches of uint8 RGB images of any size, resize them to their model's working size
themselves, and return typed outputs; `provenance()` names the package and version a
results file must record. Nothing is downloaded: a missing package or weights file is one
line (`JudgeUnavailable`). Images are checked before a model sees them (`images.checked`).
"""
