"""TransformerNet checkpoints in PyTorch: the network, its fast exact inference form and the runner.

``model`` (the published layout), ``runner`` (:class:`~neural_style.torch.runner.TorchStylizer`), ``fast``
with its pure weight folds (``folding``), accurate norm statistics (``statistics``) and strided views
(``views``), ``strips`` (bounded memory for large photos) and ``heap`` (glibc's allocator around a pass).
Everything here imports torch; :mod:`neural_style.loading` imports this package only for a checkpoint.
"""
