"""The lab book: one module per chapter experiment, the report builder and the ``jaxnn`` CLI.

An experiment module ``experiments/<name>.py`` (CLI name: underscores become hyphens) defines::

    TITLE: str                      # one line, shown by ``jaxnn list``
    QUICK: dict                     # config for the quick mode (embedded data, minutes on 2 cores)
    FULL: dict                      # config for the full mode (real data sets)
    def run(config: dict, out: pathlib.Path, seed: int) -> experiments._base.Result

and never writes outside ``out``. :func:`experiments._base.execute` adds the bookkeeping
(``results.json``, the printed comparison with the published numbers, timing).
"""
