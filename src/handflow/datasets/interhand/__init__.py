"""InterHand2.6M v1.0: generator, reader, preprocessing, download, report."""
