"""HTML of the reports: offline nbconvert export and the index page of a report folder.

Place in the flow: the last step of ``zoomaudit.report``. :func:`export_html` turns an executed
notebook into HTML without code cells through nbconvert's lab template with every CDN reference
(require.js, MathJax, mermaid, widget manager) removed; the figures and tables carry their own
libraries, injected once per notebook by ``report.setup()``. :func:`index_html` writes the page
that links every report of a folder with its headline numbers and the snapshot manifest.
"""

from __future__ import annotations

from pathlib import Path

FINDINGS_DIR = "findings"


def notebook_title(nb_path: Path) -> str:
    """The first level-1 heading of a notebook (its title), else its file name."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb_path.stem


#: nbconvert's lab template without require.js, MathJax or mermaid (all CDN links)
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
"""


def export_html(executed: Path, html_path: Path) -> None:
    """Export an executed notebook to HTML without code cells and without external URLs."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"zoomaudit_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="zoomaudit_offline.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = notebook_title(executed)
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")


def index_html(summary: dict) -> str:
    from html import escape

    def cell(value: object) -> str:
        return escape(str(value))

    rows = []
    for r in summary["notebooks"]:
        name = r["notebook"]
        heads = "".join(
            f"<li>{cell(k)}: <strong>{cell(v)}</strong></li>"
            for k, v in r.get("headlines", {}).items()
        )
        status = (
            "ok" if r["status"] == "ok" else f'<span class="bad">FAILED: {cell(r["error"])}</span>'
        )
        rows.append(
            f'<tr><td><a href="{cell(name)}.html">{cell(r["title"])}</a><br>'
            f'<small><a href="{cell(name)}.ipynb">{cell(name)}.ipynb</a></small></td>'
            f"<td><ul>{heads}</ul></td><td>{status}</td><td>{r['execute_s']} s</td></tr>"
        )
    manifest = summary["manifest"]
    facts = "".join(
        f"<tr><th>{cell(k)}</th><td>{cell(v)}</td></tr>"
        for k, v in manifest.items()
        if k != "counts"
    )
    counts = manifest.get("counts") or {}
    facts += "".join(
        f"<tr><th>rows: {cell(k)}</th><td>{cell(_count_text(v))}</td></tr>"
        for k, v in counts.items()
    )
    redacted = (
        '<p class="note">Redacted: names and addresses are pseudonyms.</p>'
        if summary["redacted"]
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>zoomaudit report {cell(summary["report_id"])}
</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
.bad{{color:#b00;font-weight:bold}} ul{{margin:0;padding-left:1.2em}} .note{{color:#555}}
</style></head><body>
<h1>zoomaudit report: {cell(summary["snapshot_id"])}</h1>{redacted}
<p>Status: <strong>{cell(summary["status"])}</strong> · generated {cell(summary["generated_at"])}
· zoomaudit {cell(summary["kit_version"])} · <a href="report.json">report.json</a>
· <a href="{FINDINGS_DIR}/">findings (CSV/XLSX/Parquet)</a></p>
<h2>Reports</h2>
<table><tr><th>report</th><th>headline numbers</th><th>status</th><th>run time</th></tr>
{"".join(rows)}</table>
<h2>Findings files</h2>{_findings_list(summary.get("findings") or [])}
<h2>Snapshot</h2><table>{facts}</table>
</body></html>
"""


def _findings_list(files: list[str]) -> str:
    """One line per findings table with links to its CSV, XLSX and Parquet files."""
    from html import escape

    tables: dict[str, list[str]] = {}
    for file in files:
        stem, _, suffix = Path(file).name.rpartition(".")
        tables.setdefault(stem, []).append(
            f'<a href="{escape(file)}">{escape(suffix.upper())}</a>'
        )
    if not tables:
        return "<p>No findings files.</p>"
    items = "".join(
        f"<li>{escape(stem)}: {' · '.join(links)}</li>" for stem, links in sorted(tables.items())
    )
    return f"<ul>{items}</ul>"


def _count_text(value: object) -> str:
    """``{"expected": 10, "received": 10}`` as "10 (expected 10)"; other values as they are."""
    if isinstance(value, dict) and "received" in value:
        expected = value.get("expected")
        return f"{value['received']}" + ("" if expected is None else f" (expected {expected})")
    return str(value)
