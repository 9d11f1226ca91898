"""One package per paper: its data, model, training, sampling or inference, and evaluation.

A paper may import the shared layers (hand, geometry, render, storage, metrics,
datasets, tracking); shared layers never import a paper and papers never import
each other.
"""
