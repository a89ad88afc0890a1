"""The pull-request comment: ``report.md``.

Layout: verdict line, run facts, per-layer table, then failing/erroring and waived checks with their messages,
then warnings, then passing and skipped checks collapsed in ``<details>``. GitHub rejects comments longer than
65,536 characters, so lists are filled in that order within a budget and end with a count of what was left out.
"""

from __future__ import annotations

import re

from mlgate.checks.report._common import attached_reports, layer_counts, run_facts, summary_counts, verdict, waiver_note
from mlgate.checks.result import CheckResult, GateReport, Status

__all__ = ["GITHUB_COMMENT_LIMIT", "render_markdown"]

GITHUB_COMMENT_LIMIT = 65_536
_MESSAGE_LIMIT = 600  # one check's message in the comment; the full text is in report.json/html
_FOOTER_RESERVE = 400  # room kept for the "left out" notes and the closing lines


#: A ``<`` that could open raw HTML or an autolink in CommonMark / GitHub Markdown: a tag (``<img``, ``</details>``),
#: a comment, declaration or processing instruction (``<!--``, ``<!X``, ``<?``), an autolink (``<https:...>``).
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
#: An ``&`` that would be read as a character reference (``&lt;``, ``&#60;``, ``&#x3c;``).
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def _escape(text: str, *, table: bool = False) -> str:
    """Plain text shown as written in a GitHub comment, and safe in it: one line, no raw HTML, no links.

    Only what Markdown would interpret is escaped, so ``p < 0.05`` and ``age > 100`` read as they are: a ``<``
    that could open a tag, comment or autolink becomes ``&lt;``, an ``&`` that would start a character reference
    ``&amp;``, ``](`` (an inline link or image, e.g. a tracking pixel in a data value) ``]\\(``; in a table ``|``
    is escaped. ``>`` needs nothing: it quotes only at the start of a line, and these texts never start one.
    """
    text = re.sub(r"\s+", " ", str(text)).strip()
    text = _TAG_OPEN.sub("&lt;", _ENTITY.sub("&amp;", text))
    text = text.replace("](", "]\\(")
    return text.replace("|", "\\|") if table else text


def _code(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text)).replace("`", "'")
    return f"`{text}`"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _item(result: CheckResult) -> str:
    tags = [result.layer] + ([result.reason.value] if result.reason is not None else [])
    if not result.blocking:
        tags.append("non-blocking")
    if result.slice:
        tags.append(f"slice {result.slice}")
    line = f"- **{result.status.value.upper()}** {_code(result.id)} ({_escape(', '.join(tags))}): "
    line += _escape(_clip(result.message, _MESSAGE_LIMIT))
    if result.status is Status.WAIVED and (note := waiver_note(result)):
        line += f" — _{_escape(_clip(note, 300))}_"
    return line + "\n"


class _Budget:
    """Appends lines while they fit under the character limit; counts what it had to leave out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    def fits(self, text: str, *, reserve: int = 0) -> bool:
        return self.size + len(text) + reserve <= self.limit

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def add_list(self, heading: str, results: list[CheckResult], *, closing: str = "") -> None:
        if not results:
            return
        reserve = _FOOTER_RESERVE + len(closing)
        if not self.fits(heading, reserve=reserve):
            self.add(f"\n_{len(results)} more checks left out to stay under GitHub's comment limit._\n")
            return
        self.add(heading)
        for shown, result in enumerate(results):
            line = _item(result)
            if not self.fits(line, reserve=reserve):
                left = len(results) - shown
                self.add(f"- … and {left} more left out to stay under GitHub's comment limit; see report.html\n")
                break
            self.add(line)
        self.add(closing)

    def text(self) -> str:
        return "".join(self.parts)


def _layer_table(report: GateReport) -> str:
    statuses = list(Status)
    lines = [
        "| Layer | Status | " + " | ".join(s.value for s in statuses) + " |",
        "|---|---|" + "---:|" * len(statuses),
    ]
    for layer, counts in layer_counts(report).items():
        cells = [str(counts[s]) if counts[s] else "·" for s in statuses]
        status = report.layer_status(layer).value.upper()
        lines.append(f"| {layer} | **{status}** | " + " | ".join(cells) + " |")
    if len(lines) == 2:
        return "_No checks ran._\n"
    return "\n".join(lines) + "\n"


def render_markdown(report: GateReport, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """A GitHub pull-request comment for ``report``, at most ``limit`` characters long."""
    word = verdict(report)
    blocking = sum(1 for r in report.results if r.blocks)
    reason = f"{blocking} blocking check{'s' if blocking != 1 else ''} failed" if blocking else "no blocking failures"
    out = _Budget(limit)
    out.add(f"## mlgate release gate: **{word}** — {reason}\n\n")
    out.add(f"{summary_counts(report)}.\n\n")
    facts = run_facts(report)
    if facts:
        out.add(" · ".join(f"**{label}** {_escape(_clip(value, 120), table=True)}" for label, value in facts) + "\n\n")
    out.add(_layer_table(report))
    if attached := attached_reports(report):
        out.add("\ndeepchecks' own reports: " + " · ".join(f"[{suite}]({path})" for suite, path in attached) + "\n")

    groups: dict[Status, list[CheckResult]] = {s: [] for s in Status}
    for result in report.results:
        groups[result.status].append(result)
    failing = groups[Status.ERROR] + groups[Status.FAIL]
    out.add_list(f"\n### Failing checks ({len(failing)})\n\n", failing)
    out.add_list(f"\n### Waived checks ({len(groups[Status.WAIVED])})\n\n", groups[Status.WAIVED])
    out.add_list(f"\n### Warnings ({len(groups[Status.WARN])})\n\n", groups[Status.WARN])
    closing = "\n</details>\n"
    for status, title in ((Status.PASS, "Passing checks"), (Status.SKIPPED, "Skipped checks")):
        n = len(groups[status])
        out.add_list(f"\n<details><summary>{title} ({n})</summary>\n\n", groups[status], closing=closing)
    out.add("\n<sub>Full report: report.html (plots), report.json (machine-readable), junit.xml.</sub>\n")
    return out.text()
