"""Training scalars streamed to TensorBoard event files (tensorboardX), beside the JSONL log.

    with tensorboard.streaming("tb/lenet5"):      # what `jaxnn run NAME --tensorboard tb` does
        fit(...)                                   # every epoch record -> tb/lenet5/<run>/
    tensorboard.read_scalars("tb/lenet5")          # {run: {tag: [(step, value), ...]}}

Every record that :func:`jaxnn.train.progress.append_jsonl` logs (``fit``'s per-epoch history
records, the language models' evaluations) goes, while :func:`streaming` is active, to the
TensorBoard run named by its caller (``fit``'s progress label, or the log's file name): one
scalar per numeric entry, at the step given by its ``epoch`` (else ``step``, else ``tokens``,
else a count), flushed at once so that ``tensorboard --logdir`` shows a long run as it goes. A
run whose step goes back (a second ``fit`` under the same label, a resumed run) continues in a
fresh run folder ``<run>-2``, ``<run>-3``, ... so curves never fold onto each other.

``tensorboardX`` is optional (``pip install 'jaxnn[tensorboard]'``); nothing here imports it
until a stream starts. Reading back needs only ``tensorboardX``'s protobuf classes.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jaxnn.errors import JaxnnError

#: the pinned writer (the ``tensorboard`` extra)
PACKAGE = "tensorboardX==2.6.5"
#: the record entries tried, in order, as the TensorBoard step
STEP_KEYS = ("epoch", "step", "tokens")

_active: ScalarStream | None = None


def require() -> None:
    """Raise :class:`~jaxnn.errors.JaxnnError` naming the install command if ``tensorboardX``
    is missing."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise JaxnnError("--tensorboard needs the tensorboardX package, which is not "
                         f"installed: pip install 'jaxnn[tensorboard]' (or pip install "
                         f"{PACKAGE})") from None


def _run_folder(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("._") or "fit"


class ScalarStream:
    """TensorBoard writers under one directory, one per run (a subfolder).

    Args:
        directory: the log directory (``tensorboard --logdir`` it); created.
    """

    def __init__(self, directory: str | Path):
        require()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, Any] = {}   # run -> SummaryWriter
        self._folder: dict[str, str] = {}    # run -> its current subfolder
        self._last: dict[str, float] = {}    # run -> last step written
        self._count: dict[str, int] = {}     # run -> records seen

    def log(self, run: str, record: dict[str, Any]) -> None:
        """Write ``record``'s numeric entries as scalars of ``run`` and flush.

        Args:
            run: the run's name (made a safe folder name).
            record: flat ``{name: value}``; bools, strings and other non-numbers are skipped.
        """
        from tensorboardX import SummaryWriter

        self._count[run] = self._count.get(run, 0) + 1
        key = next((k for k in STEP_KEYS if isinstance(record.get(k), (int, float))), None)
        step = record[key] if key is not None else self._count[run]
        if run in self._last and step <= self._last[run]:  # the run starts over: a new folder
            self._writers.pop(run).close()
        if run not in self._writers:
            base, n = _run_folder(run), 1
            taken = set(self._folder.values())
            folder = base
            while folder in taken or (self.directory / folder).exists():
                n += 1
                folder = f"{base}-{n}"
            self._folder[run] = folder
            self._writers[run] = SummaryWriter(logdir=str(self.directory / folder))
        writer = self._writers[run]
        for tag, value in record.items():
            if tag != key and isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.add_scalar(tag, float(value), int(step))
        writer.flush()
        self._last[run] = step

    def close(self) -> None:
        """Flush and close every writer."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


@contextlib.contextmanager
def streaming(directory: str | Path) -> Iterator[ScalarStream]:
    """Stream every logged training record to TensorBoard under ``directory`` in the block.

    Args:
        directory: the log directory (created).

    Yields:
        the :class:`ScalarStream` (closed when the block ends).

    Raises:
        JaxnnError: ``tensorboardX`` is not installed (the message names the pip command).
    """
    global _active
    stream, previous = ScalarStream(directory), _active
    _active = stream
    try:
        yield stream
    finally:
        _active = previous
        stream.close()


def log(run: str, record: dict[str, Any]) -> None:
    """Send ``record`` to the active :func:`streaming` block's run ``run``; no-op without one."""
    if _active is not None:
        _active.log(run, record)


def _records(path: Path) -> Iterator[bytes]:
    """The payloads of a TFRecord file (length, masked CRC-32C of it, data, CRC of data)."""
    from tensorboardX.record_writer import masked_crc32c

    data = path.read_bytes()
    i = 0
    while i < len(data):
        header = data[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[i + 8:i + 12])
        payload = data[i + 12:i + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
        if masked_crc32c(header) != header_crc or masked_crc32c(payload) != payload_crc:
            raise JaxnnError(f"{path}: corrupt record at byte {i} (CRC mismatch)")
        yield payload
        i += 16 + length


def read_scalars(directory: str | Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """The scalars of every event file under ``directory``.

    Args:
        directory: a log directory written by :class:`ScalarStream` (or any TensorBoard one).

    Returns:
        ``{run: {tag: [(step, value), ...]}}``, ``run`` the event file's folder relative to
        ``directory`` (``"."`` for files directly in it), points in file order.

    Raises:
        JaxnnError: an event file is corrupt; ``tensorboardX`` is missing.
    """
    require()
    from tensorboardX.proto.event_pb2 import Event

    root = Path(directory)
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for path in sorted(root.rglob("events.out.tfevents.*")):
        run = str(path.parent.relative_to(root))
        tags = out.setdefault(run, {})
        for payload in _records(path):
            event = Event.FromString(payload)
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    tags.setdefault(value.tag, []).append((int(event.step), value.simple_value))
    return out
