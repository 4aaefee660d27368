"""The run's report as one self-contained HTML page (:func:`render`).

Everything is in the file: the plots as base64 ``data:`` URIs, the style sheet inline, no
script, no font or style fetched from anywhere, so it opens offline in any browser. The
experiments' notes are Markdown; :func:`markdown` renders the part of it they use (paragraphs,
pipe tables, ``-`` lists, ``#`` headings, ``code``, ``**bold**``, ``*italic*``, links; a link
to another site is written out as text, so the page links nowhere outside itself).
"""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from ._base import other_data_note

if TYPE_CHECKING:
    from .report import Section

#: the image types a plot may have, by suffix
MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg", ".gif": "image/gif"}

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --band: #f6f8fa; --accent: #0969da;
        --warn-bg: #fff8c5; --warn-line: #d4a72c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5; font-size: 16px;
       font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Liberation Sans",
                    "DejaVu Sans", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.9em; border-bottom: 1px solid var(--line); padding-bottom: .3em; }
h2 { font-size: 1.45em; border-bottom: 1px solid var(--line); padding-bottom: .25em;
     margin-top: 2em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace;
       font-size: .88em; background: var(--band); padding: .1em .3em; border-radius: 4px; }
table { border-collapse: collapse; margin: 12px 0; font-size: .92em; display: block;
        overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nc { color: var(--muted); font-style: italic; }
nav ol { columns: 2; column-gap: 32px; padding-left: 1.4em; }
nav li { break-inside: avoid; margin-bottom: 2px; }
nav .what { color: var(--muted); font-size: .9em; }
.subtitle { font-style: italic; color: var(--muted); margin-top: -.3em; }
.meta { color: var(--muted); font-size: .9em; }
.warn { background: var(--warn-bg); border-left: 4px solid var(--warn-line);
        padding: 6px 12px; }
.source { font-size: .92em; }
figure { margin: 20px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85em; }
.missing { color: #b3261e; }
"""


def render(title: str, sections: list[Section], run_dir: Path) -> str:
    """The report page.

    Args:
        title: the page's title and heading.
        sections: the experiments, in order (:func:`jaxnn_experiments.report.collect`).
        run_dir: the run folder; a section's plots are read from ``run_dir/<folder>/``.

    Returns:
        the HTML document: a contents list (each experiment's section linked), a summary table
        (mode, seed, seconds, key metrics), then one ``<section id="<folder>">`` per
        experiment: its comparison table (metric | ours | reference), the reference's source,
        its notes and its plots inlined.
    """
    contents = "".join(f'<li><a href="#{escape(s.folder)}">{escape(s.folder)}</a> '
                       f'<span class="what">{escape(str(s.record.get("title", "")))}</span></li>'
                       for s in sections)
    body = [f"<h1>{escape(title)}</h1>",
            f'<nav id="contents"><h2>Contents</h2><ol>{contents}</ol></nav>',
            _summary(sections)]
    body += [_section(s, Path(run_dir)) for s in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None,
           css: str = "") -> str:
    """An HTML table; ``rows`` hold HTML already (escaped), ``classes`` one per column."""
    classes = classes or [""] * len(head)
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    tr = "".join("<tr>" + "".join(f'<td class="{c}">{cell}</td>' if c else f"<td>{cell}</td>"
                                  for c, cell in zip(classes, row)) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{th}</tr></thead><tbody>{tr}</tbody></table>'


def _summary(sections: list[Section]) -> str:
    rows = []
    for s in sections:
        r = s.record
        status = r.get("status", "done")
        mode = _field(r, "mode") + ("" if status == "done" else
                                    f" <strong>({escape(str(status))})</strong>")
        rows.append([f'<a href="#{escape(s.folder)}">{escape(s.folder)}</a>', mode,
                     _field(r, "seed"), _field(r, "seconds"),
                     "<br>".join(f"{escape(k)} = {escape(v)}" for k, v in s.key)])
    return "<h2>Summary</h2>" + _table(["experiment", "mode", "seed", "seconds", "key metrics"],
                                       rows, ["", "", "num", "num", ""], "summary")


def _field(record: dict, key: str) -> str:
    return escape(str(record.get(key, "")))


def _section(s: Section, run_dir: Path) -> str:
    r = s.record
    out = [f'<section id="{escape(s.folder)}" class="experiment">',
           f"<h2>{escape(s.folder)}</h2>", f'<p class="subtitle">{escape(s.subtitle)}</p>',
           f'<p class="meta">{_field(r, "mode")} mode · seed {_field(r, "seed")} · '
           f'{_field(r, "seconds")} s</p>']
    if s.status:
        out.append(f'<p class="warn">Run {escape(s.status)}</p>')
    if s.other_data:
        out.append(f'<p class="warn">{escape(other_data_note(r, s.other_data))}</p>')
    head = ["metric", "ours", "reference" if not s.other_data else "reference (full-mode data)"]
    out.append(_table(head, [[escape(k), escape(v), escape(ref)] for k, v, ref in s.rows],
                      ["", "num", "nc" if s.other_data else "num"], "comparison"))
    if s.others:
        out.append("<p>Other reference numbers: "
                   + ", ".join(f"{escape(k)} {escape(v)}" for k, v in s.others) + "</p>")
    if r.get("reference_source"):
        out.append(f'<p class="source"><strong>Reference:</strong> '
                   f'{_inline(str(r["reference_source"]))}</p>')
    if r.get("notes"):
        out.append(f'<div class="notes">{markdown(str(r["notes"]))}</div>')
    out += [_figure(run_dir / s.folder, p) for p in r.get("plots", [])]
    out.append("</section>")
    return "\n".join(out)


def _figure(folder: Path, name: str) -> str:
    """A plot as ``<figure>`` with the image inlined (a missing file says so instead)."""
    path = folder / name
    mime = MIME.get(path.suffix.lower())
    if mime is None or not path.is_file():
        why = "missing" if mime else "not an image type the page can inline"
        return f'<p class="missing">plot {escape(name)}: {why}</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{escape(name)}" '
            f'data-plot="{escape(name)}" loading="eager">'
            f"<figcaption>{escape(name)}</figcaption></figure>")


_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")


def _inline(text: str) -> str:
    """Markdown inline markup to HTML (escaped); code spans are left as written."""
    parts = _CODE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{escape(part)}</code>")
            continue
        part = escape(part, quote=False)
        part = _LINK.sub(_link, part)
        part = _BOLD.sub(r"<strong>\1</strong>", part)
        out.append(_ITALIC.sub(r"<em>\1</em>", part))
    return "".join(out)


def _link(m: re.Match) -> str:
    text, href = m.group(1), m.group(2)
    if href.startswith("#"):
        return f'<a href="{escape(href)}">{text}</a>'
    return f"{text} (<code>{href}</code>)"  # no link out of the page: it opens offline


def markdown(text: str) -> str:
    """HTML of the Markdown the experiments' notes use (see the module docstring).

    Args:
        text: Markdown; blocks are separated by blank lines or start a table (``|``), a list
            item (``- `` or ``* ``) or a heading (``#``).

    Returns:
        the HTML fragment (everything escaped but the markup made from it).
    """
    out: list[str] = []
    para: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            flush()
        elif line.startswith("|"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i].strip())
                i += 1
            out.append(_md_table(block))
            continue
        elif line.startswith(("- ", "* ")):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
            continue
        elif line.startswith("#"):
            flush()
            out.append(f"<h4>{_inline(line.lstrip('#').strip())}</h4>")
        else:
            para.append(line)
        i += 1
    flush()
    return "\n".join(out)


def _md_table(block: list[str]) -> str:
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in block]
    rule = [i for i, row in enumerate(cells) if all(re.fullmatch(r":?-+:?", c) for c in row)]
    if rule and rule[0] == 1:
        head, body = cells[0], cells[2:]
    else:
        head, body = [], cells
    th = ("<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>"
          if head else "")
    tr = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                 for row in body)
    return f"<table>{th}<tbody>{tr}</tbody></table>"
