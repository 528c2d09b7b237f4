"""Web pages of the tables for ``snakemake --report`` (rule report_table, rule plan_cost).

The report shows an image or a web page in its page and offers anything else (Markdown,
CSV) only as a download: each Markdown table of a run (simart.workflow.figures_plan:
FigurePlan.report_tables) becomes one self-contained HTML page -- its headings, notes and
tables, styled, nothing loaded from elsewhere (the report embeds the page as a data URI).

:func:`markdown_to_html` renders the Markdown the project's table writers produce
(pandas/tabulate pipe tables and hand-written ones): ATX headings, GitHub pipe tables
(with the delimiter row's alignments and ``\\|`` for a pipe inside a cell), bullet and
numbered lists, fenced code, horizontal rules and paragraphs; inline code, ``**bold**``,
``*emphasis*`` (asterisks only: underscores stay, as in ``claims_vs_measured``) and
``[links](url)``. Everything else is text, HTML-escaped. No dependency beyond the
standard library.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

#: the delimiter row of a pipe table: cells of dashes with optional alignment colons
_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_BOLD = re.compile(r"\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*")
_EMPH = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")

PAGE_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f2328; background: #fff; margin: 16px 20px; }
h1 { font-size: 1.35em; margin: 0.2em 0 0.6em; }
h2 { font-size: 1.15em; margin: 1.2em 0 0.5em; }
h3, h4, h5, h6 { font-size: 1em; margin: 1em 0 0.4em; }
p, ul, ol { max-width: 80em; }
code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: #f2f4f7; padding: 0 0.25em; border-radius: 3px; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; }
pre code { background: none; padding: 0; }
.table-wrap { overflow-x: auto; margin: 0.6em 0 1em; }
table { border-collapse: collapse; font-size: 0.93em; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #eef1f4; text-align: left; }
tbody tr:nth-child(even) { background: #f8f9fb; }
"""


def _inline(text: str) -> str:
    """Inline Markdown of one block's text as HTML (code spans first: nothing inside them
    is interpreted)."""
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_inline_plain(text[pos:m.start()]))
        out.append(f"<code>{html.escape(m.group(2).strip())}</code>")
        pos = m.end()
    out.append(_inline_plain(text[pos:]))
    return "".join(out)


def _inline_plain(text: str) -> str:
    escaped = html.escape(re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", text), quote=True)
    escaped = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _EMPH.sub(r"<em>\1</em>", escaped)


def _cells(row: str) -> list[str]:
    """The cells of a pipe-table row: split on unescaped pipes, outer pipes dropped."""
    row = row.strip().removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def _alignments(delimiter: str) -> list[str | None]:
    out: list[str | None] = []
    for cell in _cells(delimiter):
        left, right = cell.startswith(":"), cell.endswith(":")
        out.append("center" if left and right else "right" if right else
                   "left" if left else None)
    return out


def _table(header: str, delimiter: str, rows: list[str]) -> str:
    heads = _cells(header)
    align = (_alignments(delimiter) + [None] * len(heads))[:len(heads)]

    def cell(tag: str, text: str, a: str | None) -> str:
        style = f' style="text-align: {a}"' if a else ""
        return f"<{tag}{style}>{_inline(text)}</{tag}>"

    lines = ['<div class="table-wrap"><table>', "<thead><tr>"
             + "".join(cell("th", h, a) for h, a in zip(heads, align, strict=True))
             + "</tr></thead>", "<tbody>"]
    for row in rows:
        values = (_cells(row) + [""] * len(heads))[:len(heads)]
        lines.append("<tr>" + "".join(cell("td", v, a)
                                      for v, a in zip(values, align, strict=True)) + "</tr>")
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def _blocks(lines: list[str]) -> Iterator[str]:
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            mark, body = fence.group(1), []
            i += 1
            while i < n and not lines[i].strip().startswith(mark):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end)
            yield f"<pre><code>{html.escape(chr(10).join(body))}</code></pre>"
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            yield f"<h{level}>{_inline(heading.group(2))}</h{level}>"
            i += 1
            continue
        if "|" in line and i + 1 < n and _DELIMITER.match(lines[i + 1]) \
                and "-" in lines[i + 1]:
            rows, j = [], i + 2
            while j < n and lines[j].strip() and "|" in lines[j]:
                rows.append(lines[j])
                j += 1
            yield _table(line, lines[i + 1], rows)
            i = j
            continue
        if _RULE.match(line):
            yield "<hr>"
            i += 1
            continue
        for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            if pattern.match(line):
                items: list[str] = []
                while i < n and lines[i].strip():
                    m = pattern.match(lines[i])
                    if m:
                        items.append(m.group(1))
                    elif items and lines[i].startswith((" ", "\t")):
                        items[-1] += " " + lines[i].strip()
                    else:
                        break
                    i += 1
                yield f"<{tag}>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + \
                    f"</{tag}>"
                break
        else:
            para = [line.strip()]
            i += 1
            while i < n and lines[i].strip() and not _starts_block(lines, i):
                para.append(lines[i].strip())
                i += 1
            yield f"<p>{_inline(' '.join(para))}</p>"


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(_HEADING.match(line) or _FENCE.match(line) or _BULLET.match(line)
                or _NUMBERED.match(line) or _RULE.match(line)
                or ("|" in line and i + 1 < len(lines) and _DELIMITER.match(lines[i + 1])
                    and "-" in lines[i + 1]))


def markdown_to_html(text: str) -> str:
    """The HTML (a fragment: one element per block) of the Markdown ``text`` (module
    docstring: what is rendered)."""
    return "\n".join(_blocks(text.replace("\r\n", "\n").split("\n")))


def html_page(body: str, title: str) -> str:
    """A complete, self-contained HTML document around ``body``."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def table_page(markdown: str, title: str) -> str:
    """The report page of one Markdown table file."""
    return html_page(markdown_to_html(markdown), title)


def cost_markdown(summary: Any, title: str) -> str:
    """The cost summary of rule plan_cost (a simart.workflow.cost.Summary) as Markdown
    tables: per rule family with the total, per study, storage -- the numbers of
    ``python -m simart.plan_cost``."""
    head = ["| | jobs | GPU-h | CPU core-h | storage GB |", "|---|--:|--:|--:|--:|"]

    def row(name: str, r: Mapping[str, float]) -> str:
        return (f"| {name} | {int(r['jobs'])} | {r['gpu_h']:.3g} | {r['cpu_core_h']:.3g} | "
                f"{r['storage_gb']:.3g} |")

    storage = ", ".join(f"{k} {v:.2f} GB" for k, v in summary.storage_gb.items())
    return "\n".join([
        f"# {title}", "",
        (f"GPU-hours on an {summary.gpu} at {summary.efficiency:.2f} of its bf16 dense "
         f"peak; CPU rates: {summary.rates_source}."), "",
        "## Per rule family", "", *head,
        *(row(k, v) for k, v in summary.by_family.items()),
        row("**total**", summary.total), "",
        "## Per study", "", *head,
        *(row(k, v) for k, v in summary.by_study.items() if v["jobs"]), "",
        (f"Storage: {storage} (total {sum(summary.storage_gb.values()):.2f} GB; shards "
         "uncompressed). The CPU time of metrics, statistics and figures is an upper bound: "
         "the run time their rules request."), ""])


def write_text(text: str, path: str | os.PathLike) -> None:
    """Write a page or any text atomically (a temporary name, then a rename: simart.io)."""
    from simart.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)


def write_table_page(source: str | os.PathLike, path: str | os.PathLike,
                     log_path: str | os.PathLike, title: str) -> None:
    """Rule report_table: the Markdown table ``source`` as the web page ``path``, with one
    log line (or the error). Runs in Snakemake's own process (a ``run:`` block): it writes
    its log line itself and leaves the process's logging alone."""
    try:
        with open(source, encoding="utf-8") as fh:
            page = table_page(fh.read(), title)
        write_text(page, path)
    except Exception as exc:
        _log_line(log_path, f"ERROR simart: job failed: {type(exc).__name__}: {exc}")
        raise
    _log_line(log_path, f"INFO simart: {source} -> {path} ({page.count('<table>')} tables, "
                        f"{len(page)} bytes)")


def _log_line(log_path: str | os.PathLike, line: str) -> None:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    Path(log_path).write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n",
                              encoding="utf-8")
