"""One look for every HTML report: a Jinja2 base template and one stylesheet.

Every report page (evaluation, explanations, fairness, compression, drift, the run index) is a
small template in this folder that extends ``base.html.j2`` and holds only its own content; the
report's logic module prepares plain values and calls :func:`render`. The base template gives
the common header (report kind, title, model or run, verdict), the footer and the stylesheet
``style.css``.

Pages stay single self-contained files (the stylesheet is inlined into ``<style>``, images are
``data:`` URIs) so that they open from disk, from a bucket and in the Kubeflow Pipelines UI,
which shows an HTML artifact without its neighbours.

Autoescape is on: values are passed as text and escaped here, never as pre-rendered HTML.

Only Jinja2 is needed (in the project image and, through Airflow, in the Airflow host venv, where
the monitoring DAG renders the drift page). The templates ship with the package
(``setup.cfg`` package data; the image copies the source tree).
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent
# Every page carries this in its <head>: tests (and people) can tell a page uses the shared base.
GENERATOR = "mlops-pipelines report"


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment of the report pages (templates read from this folder)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["png_uri"] = png_data_uri
    return env


def png_data_uri(png: bytes | str) -> str:
    """A ``data:`` URI for a PNG given as bytes or as base64 text (so the page needs no file beside it)."""
    b64 = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
    return f"data:image/png;base64,{b64}"


def render(template: str, *, kind: str, title: str, subject: str = "", verdict: str = "",
           verdict_class: str = "", page_title: str = "", **context: Any) -> str:
    """Renders one report page.

    Args:
        template: File name in this folder, e.g. ``"evaluation.html.j2"``.
        kind: Short report kind shown above the title and used as the body's CSS class
            (``evaluation``, ``fairness``, ...).
        title: The page heading.
        subject: What the report is about (model name, run id); shown after the title.
        verdict: One-line outcome shown as a coloured badge; empty for none.
        verdict_class: ``ok``, ``bad`` or ``warn`` (the badge's colour).
        page_title: The browser tab's title; default ``"<title>: <subject>"``.
        **context: The template's own values.

    Returns:
        The whole HTML page.
    """
    if not page_title:
        page_title = f"{title}: {subject}" if subject else title
    return environment().get_template(template).render(
        kind=kind, title=title, subject=subject, verdict=verdict, verdict_class=verdict_class,
        page_title=page_title, generator=GENERATOR, **context,
    )
