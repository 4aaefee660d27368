"""``jaxnn run``: one experiment or all into a run folder, and its Ctrl-C handling.

The half of :mod:`jaxnn.cli` that runs experiments (the parser and the other commands live
there). Imports JAX only once a run starts: the time estimate of a full ``run all``
(:mod:`jaxnn_experiments._durations`) and the refusals of bad arguments come first.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

from jaxnn.overrides import _error, override, parse_sets


class Interrupts:
    """The SIGINT handler of ``jaxnn run``: Ctrl-C always ends the run as ``interrupted``.

    Installed explicitly (SIGINT is ignored in a process started in the background, and a
    library may have replaced the handler), it raises ``KeyboardInterrupt`` in Python. A
    ``KeyboardInterrupt`` can still be lost: raised while a C extension initialises (JAX's
    backend during compilation or import) it turns into an ``ImportError`` that an optional
    import swallows. So each Ctrl-C is delivered again every 0.5 s (``_thread.interrupt_main``)
    until :func:`jaxnn.cli.main` has handled it.
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
        if _in_gc_callback(frame):  # Python would print the exception and drop it: the
            return                  # timer delivers it again, outside the callback
        raise KeyboardInterrupt

    def _again(self) -> None:
        if not self.handled:
            import _thread

            _thread.interrupt_main(signal.SIGINT)


INTERRUPTS = Interrupts()


def _in_gc_callback(frame) -> bool:
    """Whether ``frame`` runs inside a ``gc.callbacks`` function (JAX registers one)."""
    import gc

    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _default_out() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


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
          f"(`jaxnn fetch NAME` first).\nWall times on {_durations.MACHINE}:")
    print("\n".join(_durations.lines(names)))
    print("(what each was measured or estimated from: python -m jaxnn_experiments._durations)",
          flush=True)
    if args.yes:
        return True
    print(f"\nnothing was run. To run them all: {args.command_line} --yes\n"
          "(or one at a time: jaxnn run NAME; every experiment in minutes: jaxnn run all "
          "--quick)")
    return False


def cmd_run(args: argparse.Namespace) -> int:
    """``jaxnn run``: check the arguments, print the full-mode time, run; return the status."""
    import jaxnn_experiments as lab

    INTERRUPTS.install()
    sets = parse_sets(args.set or [])
    if sets and args.name == "all":
        raise _error("--set overrides one experiment's config; it cannot go with 'all'")
    if args.name != "all":
        lab.module_of(args.name)  # an unknown name is refused before anything else
    if args.tensorboard is not None:
        with INTERRUPTS.deferred():
            from jaxnn.train.tensorboard import require
        require()  # refused before anything runs when tensorboardX is missing
    if not _full_run_estimate(args):
        return 0
    with INTERRUPTS.deferred():  # a C extension interrupted half-loaded can crash later
        import jax  # noqa: F401 - loaded here, under the deferral

        if args.cpu_devices is not None:  # before anything runs: the backend fixes the count
            from jaxnn.train import parallel

            parallel.split_host_cpu(args.cpu_devices)
        import jaxnn_experiments._base  # noqa: F401
    if args.distributed:
        _initialize_distributed(args)
    with INTERRUPTS.deferred():
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
    if args.data_parallel or args.devices is not None or args.cpu_devices is not None:
        from jaxnn.train import parallel

        mesh = parallel.make_mesh(args.devices,
                                  backend="cpu" if args.cpu_devices is not None else None)
        print(f"data-parallel over {mesh.devices.size} device(s): "
              f"{'; '.join(device_lines(list(mesh.devices.flat)))}")
        with parallel.data_parallel(mesh):
            return run_all(names, args, out, configs)
    return run_all(names, args, out, configs)


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


def run_all(names: list[str], args: argparse.Namespace, out: Path,
            configs: dict[str, dict]) -> int:
    """Run ``names`` into ``out`` (a subfolder each with 'all' or the default folder), build
    the report, return the status (1 if an experiment of 'all' failed)."""
    from jaxnn_experiments import report
    from jaxnn_experiments._base import check_free, execute

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
        print(f"\nreport: {path} and {path.with_suffix('.html')}")
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


def device_lines(devices: list) -> list[str]:
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
