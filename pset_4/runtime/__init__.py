"""Luigi's runtime as the workflow runs it, and every private Luigi name the workflow relies on.

The rest of pset_4 (tasks, the batch, the command line) uses Luigi's public API and this package's public
names; only the modules here override a private hook of Luigi or read or set a private attribute. luigi is
pinned in constraints.txt, and ``tests/pset_4/test_runtime_hooks.py`` fails when the pinned version changes
the signature of a hook below or drops an attribute.

- :mod:`~pset_4.runtime.scheduling`: :func:`run_tasks`, the one way a build runs (the local scheduler or a
  central luigid; its reachability checked first); the reason the scheduler gives for each failed task.
- :mod:`~pset_4.runtime.workers`: ``--workers N`` as threads of the worker process (:class:`ThreadedWorker`,
  :class:`TaskThread`); a worker that shares a batch under luigid (:class:`SharingWorker`).
- :mod:`~pset_4.runtime.interrupts`: a Ctrl-C that Luigi swallows in an event callback still stops a build.
- :mod:`~pset_4.runtime.registry`: Luigi's process-wide cache of task instances, and its command-line flags.
- :mod:`~pset_4.runtime.params`: ``luigi.Task.get_params`` (public, ``(cls)``, a class's parameters sorted by
  creation) answered once per class for the many small tasks (:class:`ParamsListedOnce`).

Overridden methods of ``luigi.worker.Worker`` (in :mod:`~pset_4.runtime.workers`):

- ``_get_work(self)`` and ``_handle_next_task(self)``: raise a latched Ctrl-C first (``ThreadedWorker``);
- ``_run_task(self, task_id)``: a task whose failure is final for the batch is reported, not run again;
- ``_add_task(self, *args, **kwargs)``: a task that failed for good is then disabled in the scheduler;
- ``_create_task_process(self, task)``: a :class:`TaskThread` instead of a forked process, built with the
  arguments of Luigi's own ``ContextManagedTaskProcess.__init__(self, context, *args, **kwargs)`` and
  ``TaskProcess.__init__`` (``task, worker_id, result_queue, status_reporter, use_multiprocessing,
  worker_timeout, check_unfulfilled_deps, check_complete_on_run, task_completion_cache``);
- ``_keep_alive(self, get_work_response)``: wait while needed tasks run elsewhere (``SharingWorker``).

Private attributes read or set:

- of ``luigi.worker.Worker``: ``_scheduled_tasks``, ``_running_tasks``, ``_scheduler``, ``_id``,
  ``_assistant``, ``_task_result_queue``, ``_task_completion_cache``, and ``_config``'s
  ``force_multiprocessing``, ``task_process_context``, ``timeout``, ``check_unfulfilled_deps`` and
  ``check_complete_on_run``;
- of the task process Luigi made: ``use_multiprocessing``, ``timeout_time``, ``status_reporter``; of
  ``luigi.worker.GetWorkResponse``: ``running_tasks``;
- ``luigi.rpc.RemoteScheduler._rpc_retry_wait``, set by :class:`RetryingRemoteScheduler` (seconds between
  tries of a request luigid did not answer);
- ``luigi.interface._WorkerSchedulerFactory``: stood in for by the factory :func:`run_tasks` gives
  ``luigi.build`` (``create_local_scheduler(self)``, ``create_remote_scheduler(self, url)``,
  ``create_worker(self, scheduler, worker_processes, assistant=False)``);
- ``luigi.task_register.Register._Register__instance_cache``, read before ``Register.clear_instance_cache()``
  is called between waves (:func:`forget_task_instances`);
- ``luigi.parameter.Parameter._parser_global_dest(param_name, task_name)``: where
  ``luigi.cmdline_parser.CmdlineParser``'s ``known_args`` keeps a Config section's flag
  (:func:`command_line_value`).
"""
