"""handflow: rebuild hand-interaction papers' experiments as one declarative pipeline."""

__version__ = "0.1.0"
