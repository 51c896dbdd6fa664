"""The one place an alert's content is decided.

Every channel (Slack-compatible webhook, e-mail, a log line) delivers the same
:class:`AlertMessage`, built by :func:`build_alert`. Channels only render the message into their
wire format (``to_webhook_payload``, ``to_email``) and send it; they never add or drop content.

Pure Python: no Airflow, no TensorFlow, no network. Inputs are plain data, so the DAGs, the
pipeline's ``run.json`` and the tests can all feed it.

Example:
    msg = build_alert(
        kind="data_validation_failed",
        dataset="penguins",
        data_uri="s3://bucket/penguins.csv",
        failures=[{"column": "island", "expectation": "expect_column_values_to_be_in_set",
                   "observed": "1 unexpected value", "examples": ["Atlantis"]}],
        links={"Data Docs": "file:///.../index.html", "Airflow run": "http://127.0.0.1:8080/..."},
    )
    msg.text()                 # plain text, one line per failing check
    msg.to_webhook_payload()   # {"text": ..., "blocks": [...]} (Slack incoming-webhook format)
    msg.to_email_html()        # (subject, HTML body), every value HTML-escaped

Values in a message come from data (column names, example values, exception texts), so each
rendering escapes them for its format: ``to_webhook_payload`` escapes Slack's control
characters ``&``, ``<`` and ``>`` (:func:`escape_mrkdwn`), so ``<!channel>``, ``<script>`` or
``a&b`` are shown literally instead of pinging a channel or becoming a link; ``to_email_html``
HTML-escapes. ``text()`` and ``to_email()`` stay plain text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

# kind -> (severity, title template). The title names the dataset so a subject line alone is useful.
KINDS: dict[str, tuple[str, str]] = {
    "data_validation_failed": ("error", "Data validation failed for {dataset}: pipeline not started"),
    "data_gate_failed": ("error", "Pipeline for {dataset} stopped by its data gate"),
    "drift_hold": ("error", "Pipeline for {dataset} held by its drift check"),
    "not_blessed": ("warning", "New {dataset} model was not blessed: nothing pushed"),
    "pipeline_failed": ("error", "Pipeline run for {dataset} failed"),
    "drift_detected": ("warning", "Data drift detected for {dataset}"),
    "model_quality": ("warning", "Served {dataset} model broke a monitoring threshold"),
    "task_failed": ("error", "Airflow task failed for {dataset}"),
}

_SEVERITY_ICON = {"error": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


@dataclass(frozen=True)
class FailedCheck:
    """One failing expectation / gate check, normalised from any source.

    Attributes:
        column: Column name, or None for table-level checks.
        check: Expectation or check name (``expect_column_values_to_be_in_set``).
        observed: Short description of what was seen (may be empty).
        examples: A few offending values, already truncated.
        source: Which validator reported it (``great_expectations``, ``tfdv``...), may be empty.
    """

    column: str | None
    check: str
    observed: str = ""
    examples: tuple[Any, ...] = ()
    source: str = ""

    def line(self) -> str:
        """One human line: column, check, observed, example values."""
        col = f"column `{self.column}`" if self.column else "table"
        out = f"{col}: {self.check}"
        if self.observed:
            out += f" ({self.observed})"
        if self.examples:
            out += " - examples: " + ", ".join(_short_repr(v) for v in self.examples)
        if self.source:
            out += f" [{self.source}]"
        return out


@dataclass(frozen=True)
class AlertMessage:
    """What every channel delivers. Build it with :func:`build_alert`, never directly.

    Attributes:
        kind: One of :data:`KINDS`.
        severity: ``error``, ``warning`` or ``info``.
        title: One line, usable as an e-mail subject.
        dataset: Dataset / pipeline name.
        summary: One short paragraph: what happened and what was (not) done.
        checks: Failing checks, in a stable order (column name, then check).
        facts: Extra key/value facts (data URI, runner, run id, drift scores...).
        links: Name -> URL (Data Docs, the Airflow run, the KFP/Vertex run, reports).
    """

    kind: str
    severity: str
    title: str
    dataset: str
    summary: str
    checks: tuple[FailedCheck, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()

    @property
    def failing_columns(self) -> list[str]:
        """Distinct column names of the failing checks, in order."""
        seen: list[str] = []
        for c in self.checks:
            if c.column and c.column not in seen:
                seen.append(c.column)
        return seen

    def text(self) -> str:
        """Plain-text rendering (e-mail body, logs)."""
        lines = [self.title, "", self.summary]
        if self.checks:
            lines += ["", f"Failing checks ({len(self.checks)}):"]
            lines += [f"  - {c.line()}" for c in self.checks]
        if self.facts:
            lines += [""] + [f"{k}: {v}" for k, v in self.facts]
        if self.links:
            lines += ["", "Links:"] + [f"  {name}: {url}" for name, url in self.links]
        return "\n".join(lines) + "\n"

    def to_webhook_payload(self) -> dict[str, Any]:
        """Slack incoming-webhook JSON (``text`` fallback plus Block Kit ``blocks``).

        Other chat tools that accept Slack-compatible webhooks (Mattermost, Rocket.Chat) read
        ``text``; Slack shows the blocks.

        Every piece of text that goes into a ``mrkdwn`` field (and the ``text`` fallback, which
        Slack also parses) is escaped with :func:`escape_mrkdwn`; the header is ``plain_text``,
        which Slack does not parse.
        """
        esc = escape_mrkdwn
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": esc(self.summary)}},
        ]
        if self.checks:
            body = "\n".join(f"• {esc(c.line())}" for c in self.checks)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip_escaped(body, 2900)}})
        if self.facts:
            blocks.append(
                {
                    "type": "section",
                    "fields": [{"type": "mrkdwn", "text": f"*{esc(k)}*\n{esc(v)}"} for k, v in self.facts[:10]],
                }
            )
        if self.links:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": f"<{_mrkdwn_url(url)}|{esc(name)}>"} for name, url in self.links[:10]
                    ],
                }
            )
        icon = _SEVERITY_ICON.get(self.severity, "")
        return {"text": f"{icon} {esc(self.text())}".strip(), "blocks": blocks}

    def to_email(self) -> tuple[str, str]:
        """(subject, plain-text body)."""
        return self.email_subject(), self.text()

    def email_subject(self) -> str:
        return f"[mlops][{self.severity}] {self.title}"

    def to_email_html(self) -> tuple[str, str]:
        """(subject, HTML body): the same content as :meth:`text`, every value HTML-escaped.

        Links become ``<a href>`` only for ``http(s)://`` and ``file://`` URLs; others are text.
        """
        e = _html_text
        parts = [
            f"<h2>{e(self.title)}</h2>",
            "<p>" + "<br>\n".join(e(line) for line in self.summary.split("\n")) + "</p>",
        ]
        if self.checks:
            parts.append(f"<p><b>Failing checks ({len(self.checks)}):</b></p>")
            parts.append("<ul>\n" + "\n".join(f"<li>{e(c.line())}</li>" for c in self.checks) + "\n</ul>")
        if self.facts:
            rows = "\n".join(f'<tr><th align="left">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in self.facts)
            parts.append(f"<table>\n{rows}\n</table>")
        if self.links:
            items = []
            for name, url in self.links:
                if url.lower().startswith(("http://", "https://", "file://")):
                    items.append(f'<li>{e(name)}: <a href="{html.escape(url, quote=True)}">{e(url)}</a></li>')
                else:
                    items.append(f"<li>{e(name)}: {e(url)}</li>")
            parts.append("<p><b>Links:</b></p>\n<ul>\n" + "\n".join(items) + "\n</ul>")
        return self.email_subject(), "<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def escape_mrkdwn(text: str) -> str:
    """Escapes Slack's control characters ``&``, ``<``, ``>`` (and only those) as HTML entities.

    Slack's formatting rules: these three characters start entities, links (``<url|name>``),
    mentions (``<@U123>``, ``<!channel>``) and dates, so text that is not meant as markup must
    carry them as ``&amp;``, ``&lt;``, ``&gt;``; Slack then shows them literally. Other mrkdwn
    characters (``*``, ``_``, ``~``, backticks) have no escape in Slack and are left alone.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn_url(url: str) -> str:
    """A URL inside ``<url|name>``: control characters escaped, ``|`` (the separator) encoded."""
    return escape_mrkdwn(url.replace("|", "%7C"))


def _clip_escaped(s: str, n: int) -> str:
    """Clips escaped mrkdwn without cutting an ``&amp;``/``&lt;``/``&gt;`` entity in half."""
    if len(s) <= n:
        return s
    cut = n - 1
    amp = s.rfind("&", max(0, cut - 4), cut)
    if amp != -1 and ";" not in s[amp:cut]:
        cut = amp
    return s[:cut] + "…"


def _html_text(text: str) -> str:
    return html.escape(text, quote=False)


def normalise_failure(failure: Any, max_examples: int = 5) -> FailedCheck:
    """Accepts a ``ge_validation`` ``Failure``, a ``run.json`` gate failure dict, or a mapping.

    Known field spellings: ``column``; ``expectation``/``check``/``expectation_type``;
    ``observed``/``detail``/``observed_value``/``reason``; ``examples``/``partial_unexpected_list``;
    ``source``.
    """
    get = failure.get if isinstance(failure, Mapping) else (lambda k, d=None: getattr(failure, k, d))
    column = get("column")
    check = get("expectation") or get("check") or get("expectation_type") or "check failed"
    observed = get("observed")
    if observed is None:
        observed = get("detail")
    if observed is None:
        observed = get("observed_value")
    if observed is None:
        observed = get("reason")
    examples = get("examples")
    if examples is None:
        examples = get("partial_unexpected_list") or ()
    return FailedCheck(
        column=str(column) if column not in (None, "") else None,
        check=str(check),
        observed="" if observed is None else _clip(str(observed), 200),
        examples=tuple(list(examples)[:max_examples]),
        source=str(get("source") or ""),
    )


def build_alert(
    *,
    kind: str,
    dataset: str,
    failures: Iterable[Any] = (),
    reason: str | None = None,
    data_uri: str | None = None,
    runner: str | None = None,
    run_id: str | None = None,
    facts: Mapping[str, Any] | None = None,
    links: Mapping[str, str | None] | None = None,
    max_examples: int = 5,
) -> AlertMessage:
    """Builds the alert every channel delivers. This is the only message builder.

    Args:
        kind: What happened; one of :data:`KINDS` (unknown kinds are treated as ``task_failed``).
        dataset: Dataset / pipeline name (``penguins``).
        failures: Failing checks: ``ge_validation`` ``Failure`` objects, ``run.json``
            ``gate.failures`` dicts, or similar mappings. Sorted by column then check.
        reason: One human paragraph (the pipeline's last stderr paragraph, an exception text).
        data_uri: The data that was validated / trained on.
        runner: ``local``, ``kubeflow``, ``vertex``...
        run_id: The Airflow run id (and/or the remote run id in ``facts``).
        facts: Extra key/value pairs shown as fields (drift scores, pushed version...).
        links: Name -> URL; entries whose URL is empty are dropped.
        max_examples: Example values kept per failing check.
    """
    severity, title_tpl = KINDS.get(kind, KINDS["task_failed"])
    checks = sorted(
        (normalise_failure(f, max_examples) for f in failures),
        key=lambda c: (c.column or "", c.check),
    )
    title = title_tpl.format(dataset=dataset)
    summary = _summary(kind, checks, reason, data_uri)
    fact_items: list[tuple[str, str]] = [("Dataset", dataset)]
    if data_uri:
        fact_items.append(("Data", data_uri))
    if runner:
        fact_items.append(("Runner", runner))
    if run_id:
        fact_items.append(("Run", run_id))
    for k, v in (facts or {}).items():
        if v is not None and v != "":
            fact_items.append((str(k), _clip(_fmt(v), 300)))
    link_items = tuple((str(n), str(u)) for n, u in (links or {}).items() if u)
    return AlertMessage(
        kind=kind if kind in KINDS else "task_failed",
        severity=severity,
        title=title,
        dataset=dataset,
        summary=summary,
        checks=tuple(checks),
        facts=tuple(fact_items),
        links=link_items,
    )


def _summary(kind: str, checks: list[FailedCheck], reason: str | None, data_uri: str | None) -> str:
    cols = []
    for c in checks:
        if c.column and c.column not in cols:
            cols.append(c.column)
    where = f" in {data_uri}" if data_uri else ""
    if kind == "data_validation_failed":
        head = f"{len(checks)} expectation(s) failed{where}"
        if cols:
            head += f" (columns: {', '.join(cols)})"
        head += ". The training pipeline was NOT submitted."
    elif kind == "data_gate_failed":
        head = f"The pipeline's data gate stopped the run{where}"
        if cols:
            head += f" (columns: {', '.join(cols)})"
        head += ". No model was trained or pushed."
    elif kind == "drift_hold":
        head = f"The new data{where} drifted from the serving model's training data"
        if cols:
            head += f" (columns: {', '.join(cols)})"
        head += "; drift_check.fail_on_drift held the run. No model was trained or pushed."
    elif kind == "not_blessed":
        head = "The candidate model did not pass evaluation; the serving model is unchanged."
    elif kind == "drift_detected":
        head = f"Feature drift above the threshold{where}"
        if cols:
            head += f" (columns: {', '.join(cols)})"
        head += "."
    elif kind == "model_quality":
        head = "The streaming monitor's window broke a quality or drift threshold"
        if cols:
            head += f" ({', '.join(cols)})"
        head += "."
    elif kind == "pipeline_failed":
        head = "The training pipeline run failed; no new model was pushed."
    else:
        head = "A task failed."
    if reason:
        head += "\n" + _clip(reason.strip(), 1500)
    return head


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    return str(v)


def _short_repr(v: Any) -> str:
    return _clip(repr(v), 60)


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"
