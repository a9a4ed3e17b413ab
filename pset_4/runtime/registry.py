"""Luigi's process-wide registers: its cache of task instances, and the command-line flags it parsed."""

from __future__ import annotations

import luigi.task_register


def forget_task_instances() -> None:
    """Drop Luigi's cached task instances, so that memory and each later build's cost stay one build's.

    Luigi keeps every task instance it ever made. A program that turned the cache off keeps it off
    (clearing it would turn it back on).
    """
    register = luigi.task_register.Register
    if getattr(register, "_Register__instance_cache", None) is not None:
        register.clear_instance_cache()


def command_line_value(section: str, option: str) -> str | None:
    """Return what Luigi's command line gave ``[section] option`` (``--<section>-<option> VALUE``), or None.

    Set only while Luigi parses a command line of its own (``luigi --module ... --pset-4-remote-root X``).
    """
    from luigi.cmdline_parser import CmdlineParser
    from luigi.parameter import Parameter

    parser = CmdlineParser.get_instance()
    if parser is None:
        return None
    value = getattr(parser.known_args, Parameter._parser_global_dest(option, section), None)
    return None if value is None else str(value)
