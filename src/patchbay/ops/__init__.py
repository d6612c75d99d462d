"""Operating Patchbay: ``patchbay doctor`` (diagnosis), failure advice, and ``patchbay report``."""
