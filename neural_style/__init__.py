"""Fast neural style transfer compatible with the published PyTorch checkpoints."""

# The package's release version.
__version__ = "0.1.0"
# Bumped whenever the pixels the engine writes could change (workflow outputs key on it, so output names
# stay the same for the same pixels).
# 1.2.0: the 26-style network above 4 MP in the PyTorch engine (within 1 level); 1.3.0: style pictures
# above 4 MP in the int8 engine (a picture like ONNX Runtime's, not within a level: see torch/quantized.py).
PIXELS_VERSION = "1.3.0"
