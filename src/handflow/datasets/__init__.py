"""Dataset readers and embedded generators."""
