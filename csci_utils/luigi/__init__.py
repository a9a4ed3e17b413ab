"""Luigi storage layer: atomic local targets that keep suffixes, one interface for local and S3, copy tasks.

- :mod:`csci_utils.luigi.target`: ``suffix_preserving_atomic_file``, ``BaseAtomicProviderLocalTarget``,
  ``SuffixPreservingLocalTarget`` (temp files beside the target that keep ``.jpg``/``.tar.gz``).
- :mod:`csci_utils.luigi.storage`: ``target_for(location, *, binary=False)`` for paths, ``file://`` and
  ``s3://`` URLs; ``join``, ``list_names``, ``S3Settings``.
- :mod:`csci_utils.luigi.tasks`: ``copy_target`` and the tasks built on it: ``ExternalFile``, ``CopyTask``,
  ``CopyFile``, ``UploadIfMissing``, ``DownloadIfMissing``, ``UpDown``.

Needs the ``luigi`` extra; ``s3://`` locations also need the ``s3`` extra (boto3).
"""
