"""Luigi storage layer: atomic local targets that keep suffixes, one interface for local and S3, copy tasks.

- :mod:`csci_utils.luigi.target`: ``suffix_preserving_atomic_file``, ``BaseAtomicProviderLocalTarget``,
  ``SuffixPreservingLocalTarget`` (temp files beside the target that keep ``.jpg``/``.tar.gz``).
- :mod:`csci_utils.luigi.locations`: ``target_for(location, *, binary=False)`` for paths, ``file://`` and
  ``s3://`` URLs; ``join``, ``list_names``.
- :mod:`csci_utils.luigi.versions`: ``ContentVersion``, ``content_version``, ``object_version``,
  ``md5_of_file``.
- :mod:`csci_utils.luigi.s3`: ``S3Settings`` (luigi.cfg ``[s3]``), error translation, the client, and
  multipart-upload clean-up (``abort_stale_uploads``; ``python -m csci_utils.luigi.s3 clean-uploads``).
- :mod:`csci_utils.luigi.copy`: ``copy_target``, the copy engine (with :mod:`.checksums` and
  :mod:`.progress`).
- :mod:`csci_utils.luigi.tasks`: the tasks built on it: ``ExternalFile``, ``CopyTask``, ``CopyFile``,
  ``UploadIfMissing``, ``DownloadIfMissing``, ``UpDown``.

Needs the ``luigi`` extra; ``s3://`` locations also need the ``s3`` extra (boto3).
"""
