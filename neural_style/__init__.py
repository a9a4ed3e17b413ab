"""Fast neural style transfer compatible with the published PyTorch checkpoints."""
