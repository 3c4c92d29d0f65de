"""The stakeholders' page: both insights as inline-SVG charts and tables, rendered on the server.

`GET /dashboard?year=2021&department=Sales`. No script, no CDN, no build step: the charts are
SVG drawn here from the same queries the API serves, each with a title, axis labels and a
table of its numbers for screen readers. With HRAPI_API_KEY set, the page asks for HTTP Basic
authentication with the key as the password.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request

from hrapi.insights import QUARTERS

bp = Blueprint("dashboard", __name__)

QUARTER_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759")


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


def _scale(maximum: float) -> tuple[float, list[float]]:
    """A round top for an axis and its tick values."""
    if maximum <= 0:
        return 1.0, [0.0, 1.0]
    step = 10 ** math.floor(math.log10(maximum))
    for multiple in (1, 2, 5, 10):
        if maximum / (step * multiple) <= 6:
            step *= multiple
            break
    top = step * math.ceil(maximum / step)
    return top, [step * i for i in range(int(top / step) + 1)]


def stacked_quarters(rows: list[dict]) -> dict:
    """Hires per department (summed over jobs) by quarter, as stacked vertical bars."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        counts = totals.setdefault(row["department"], [0, 0, 0, 0])
        for i, quarter in enumerate(QUARTERS):
            counts[i] += row[quarter]
    width, height, left, bottom, top_pad = 760, 350, 50, 130, 10
    plot_h = height - bottom - top_pad
    top, ticks = _scale(max((sum(c) for c in totals.values()), default=0))
    slot = (width - left - 70) / max(len(totals), 1)  # room on the right for the last label
    groups = []
    for index, (department, counts) in enumerate(totals.items()):
        x = left + index * slot + slot * 0.15
        y = top_pad + plot_h
        bars = []
        for quarter, (count, colour) in enumerate(zip(counts, QUARTER_COLOURS, strict=True)):
            h = plot_h * count / top
            y -= h
            bars.append(Bar(x, y, slot * 0.7, h, colour, f"{department} Q{quarter + 1}: {count}"))
        groups.append({"department": department, "counts": counts, "total": sum(counts),
                       "bars": bars, "label_x": x + slot * 0.35})  # fmt: skip
    return {
        "width": width, "height": height, "left": left, "right": width - 70,
        "base": top_pad + plot_h,
        "ticks": [(t, top_pad + plot_h - plot_h * t / top) for t in ticks], "groups": groups,
    }  # fmt: skip


def above_mean_bars(mean: float, rows: list[dict]) -> dict:
    """Departments above the mean as horizontal bars, the mean as a vertical line."""
    width, left, right_pad, row_h, top_pad = 760, 200, 40, 28, 24
    height = top_pad + row_h * max(len(rows), 1) + 40
    plot_w = width - left - right_pad
    top, ticks = _scale(max([mean, *(r["hired"] for r in rows)]))
    bars = [
        Bar(left, top_pad + i * row_h + 4, plot_w * r["hired"] / top, row_h - 8, "#4e79a7",
            f"{r['department']}: {r['hired']}")
        for i, r in enumerate(rows)
    ]  # fmt: skip
    return {
        "width": width, "height": height, "left": left, "top": top_pad,
        "base": top_pad + row_h * max(len(rows), 1),
        "ticks": [(t, left + plot_w * t / top) for t in ticks],
        "mean_x": left + plot_w * mean / top, "bars": bars, "rows": rows, "mean": mean,
    }  # fmt: skip


def _authorised() -> bool:
    key = current_app.config["HRAPI_SETTINGS"].api_key
    if not key:
        return True
    auth = request.authorization
    given = (auth.password or "") if auth and auth.type == "basic" else ""
    return hmac.compare_digest(given.encode(), key.encode())


@bp.get("/dashboard")
def dashboard():
    if not _authorised():
        return Response(
            "The dashboard needs the API key as the password (any user name).", 401,
            {"WWW-Authenticate": 'Basic realm="hrapi dashboard"'},
        )  # fmt: skip
    try:
        year = int(request.args.get("year", "2021"))
    except ValueError:
        year = 0
    if not 1900 <= year <= 2100:
        return _problem(422, f"The year must be a whole number from 1900 to 2100, not "
                             f"{request.args.get('year')!r}.")  # fmt: skip
    insights = current_app.extensions["hrapi.insights"]
    rows = insights.hires_by_quarter(year)
    mean, above = insights.departments_above_mean(year)
    departments = sorted({r["department"] for r in rows}, key=lambda d: (d.lower(), d))
    chosen = request.args.get("department") or ""
    if chosen and chosen not in departments:
        return _problem(404, f"No department named {chosen!r} hired in {year}.", year)
    shown = [r for r in rows if r["department"] == chosen] if chosen else rows
    return render_template(
        "dashboard.html",
        year=year, years=sorted({*insights.years(), year}), departments=departments,
        chosen=chosen, groups=_by_department(shown), quarters=QUARTERS,
        colours=QUARTER_COLOURS, stacked=stacked_quarters(rows),
        above=above_mean_bars(mean, above),
    )  # fmt: skip


def _by_department(rows: list[dict]) -> list[dict]:
    """The quarter table's rows grouped by department (one collapsible section each)."""
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(row["department"], {"department": row["department"],
                                                      "rows": [], "total": 0})  # fmt: skip
        group["rows"].append(row)
        group["total"] += sum(row[q] for q in QUARTERS)
    return list(groups.values())


def _problem(status: int, message: str, year: int = 2021) -> Response:
    """A bad request as a page with its message and a way back."""
    page = render_template("dashboard_problem.html", message=message, year=year)
    return Response(page, status, mimetype="text/html")
