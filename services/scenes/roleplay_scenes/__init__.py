"""Scenes service: turns scene requests into images with continuity (t2i, i2i, modification)."""
