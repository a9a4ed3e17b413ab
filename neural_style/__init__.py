"""Fast neural style transfer compatible with the published PyTorch checkpoints."""

# Bumped whenever the pixels the engine writes could change (workflow outputs key on it).
__version__ = "1.0.0"
