"""Luigi targets and tasks: suffix-preserving atomic local targets, one storage interface, copy tasks."""
