"""Pset 4: the Luigi style-transfer workflow."""
