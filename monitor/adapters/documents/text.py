"""A notice as text: Markdown, JSON (everything it states) and HTML (the console's preview)."""

from __future__ import annotations

import html
import json

from monitor.adapters.documents.lines import title_lines
from monitor.core.notices.model import Notice, Table

_END = ("copy_to", "imprint")
TITLE_EM_PER_LINE = 156 / (22 / 72 * 25.4)
"""How many 2号 characters the 版心's 156 mm hold: the title breaks where the printed one does."""
"""The 版记's blocks: printed after the attachments, at the end of the document."""


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(table: Table) -> list[str]:
    header, *rows = table.rows
    lines = ["| " + " | ".join(_md_escape(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return lines


def markdown_text(notice: Notice) -> str:
    tables = {t.key: t for t in notice.tables}
    lines: list[str] = []
    for block in notice.blocks:
        if block.style in _END:
            continue
        if block.style == "table":
            lines += [f"**{tables[block.text].caption}**", "", *_md_table(tables[block.text])]
        elif block.style == "title":
            lines.append(f"# {block.text}")
        elif block.style == "heading":
            lines.append(f"## {block.text}")
        elif block.style == "draft":
            lines.append(f"> **{block.text}**")
        elif block.style in ("issuer", "number", "signature", "date"):
            lines.append(f'<p align="{"right" if block.style in ("signature", "date") else "center"}">{block.text}</p>')
        else:
            lines.append(block.text)
        lines.append("")
    for table in (t for t in notice.tables if t.label):
        lines += ["---", "", f"**{table.label}**", "", f"### {table.caption}", ""]
        if table.unit:
            lines += [table.unit, ""]
        lines += [*_md_table(table), ""]
    if notice.photos:
        lines += ["---", "", f"**{notice.photos_label}**", ""]
        lines += [f"- {photo.caption.replace(chr(10), ' ')}" for photo in notice.photos]
        lines.append("")
    end = [b.text for b in notice.blocks if b.style in _END]
    if end:
        lines += ["---", "", *(f"{text}  " for text in end), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def notice_document(notice: Notice) -> dict[str, object]:
    """Everything the notice states: the JSON file, and `--json` (attachments + text) is a subset."""
    return {
        "kind": notice.kind,
        "period": notice.period,
        "title": notice.title,
        "doc_number": notice.doc_number,
        "draft": notice.draft,
        "missing": list(notice.missing),
        "figures": notice.figures,
        "attachments": {t.key: [list(r) for r in t.rows] for t in notice.tables if t.label},
        "tables": {t.key: {"caption": t.caption, "rows": [list(r) for r in t.rows]} for t in notice.tables},
        "photos": [photo.caption for photo in notice.photos],
        "text": notice.text,
        "summary": notice.summary,
    }


def json_text(notice: Notice) -> str:
    return json.dumps(notice_document(notice), ensure_ascii=False, indent=2) + "\n"


_CSS = """
body{font-family:"FangSong","仿宋_GB2312","Noto Serif CJK SC",serif;font-size:16pt}
body{max-width:156mm;margin:2em auto;line-height:28pt}
.issuer{color:#e60012;font-family:"方正小标宋简体","Noto Serif CJK SC",serif}
.issuer{font-size:26pt;text-align:center;line-height:40pt}
.number{text-align:center}
.rule{border:0;border-top:2px solid #e60012;margin:4pt 0 24pt}
h1{font-family:"方正小标宋简体","Noto Serif CJK SC",serif}
h1{font-size:22pt;font-weight:normal;text-align:center;line-height:36pt}
h2{font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif;font-size:16pt;font-weight:normal;text-indent:2em;margin:0}
p{margin:0}
.body,.attachments{text-indent:2em}
.signature,.date{text-align:right;padding-right:4em}
.draft{color:#e60012;font-weight:bold}
.end{border-top:1px solid #000;border-bottom:1px solid #000;margin-top:2em;font-size:14pt}
table{border-collapse:collapse;margin:1em auto;font-size:10.5pt;line-height:1.4}
td,th{border:1px solid #000;padding:2px 4px;text-align:center}
section.attachment{margin-top:3em}
.label{font-family:"SimHei","黑体",sans-serif}
.caption{text-align:center;font-size:18pt}
figure{display:inline-block;margin:4pt;font-size:10.5pt}
"""


def _html_table(table: Table) -> str:
    header, *rows = table.rows
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_text(notice: Notice) -> str:
    """A standalone HTML page of the notice, laid out like the printed document (for a preview)."""
    tables = {t.key: t for t in notice.tables}
    parts: list[str] = []
    styles = [b.style for b in notice.blocks]
    for index, block in enumerate(notice.blocks):
        text = html.escape(block.text)
        if block.style in _END:
            continue
        if block.style == "table":
            table = tables[block.text]
            parts.append(f'<p class="caption">{html.escape(table.caption)}</p>{_html_table(table)}')
        elif block.style == "title":
            lines = title_lines(block.text, TITLE_EM_PER_LINE)
            parts.append("<h1>" + "<br>".join(html.escape(line) for line in lines) + "</h1>")
        elif block.style == "heading":
            parts.append(f"<h2>{text}</h2>")
        else:
            parts.append(f'<p class="{block.style}">{text}</p>')
        if block.style in ("issuer", "number") and (index + 1 == len(styles) or styles[index + 1] != "number"):
            parts.append('<hr class="rule">')
    for table in (t for t in notice.tables if t.label):
        unit = f'<p style="text-align:right">{html.escape(table.unit)}</p>' if table.unit else ""
        parts.append(
            f'<section class="attachment"><p class="label">{html.escape(table.label)}</p>'
            f'<p class="caption">{html.escape(table.caption)}</p>{unit}{_html_table(table)}</section>'
        )
    if notice.photos:
        captions = "".join(
            f"<figure><figcaption>{'<br>'.join(map(html.escape, p.caption.splitlines()))}</figcaption></figure>"
            for p in notice.photos
        )
        parts.append(
            f'<section class="attachment"><p class="label">{html.escape(notice.photos_label)}</p>{captions}</section>'
        )
    end = [b.text for b in notice.blocks if b.style in _END]
    if end:
        parts.append('<div class="end">' + "".join(f"<p>{html.escape(t)}</p>" for t in end) + "</div>")
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(notice.title)}</title>'
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
