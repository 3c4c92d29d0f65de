"""The stakeholder dashboard: its numbers are the API's, it asks for the key, and a real
browser (headless Chromium) draws one bar group per department with hires."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import threading
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from hrapi import create_app
from tests.helpers import load_synthetic


@pytest.fixture
def loaded(client, tmp_path):
    load_synthetic(client, tmp_path / "data", hires=900, seed=9)
    return client


def page_numbers(html: str):
    totals = {
        d: int(t) for d, t in re.findall(r'data-department="([^"]+)" data-total="(\d+)"', html)
    }
    above_table = html[html.index('aria-label="Departments above the mean"') :]
    above_table = above_table[: above_table.index("</table>")]
    above = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td></tr>", above_table)
    return totals, [(d, int(i), int(h)) for d, i, h in above]


@pytest.mark.parametrize("year", [2021, 2022])
def test_the_page_shows_the_apis_numbers(loaded, year):
    html = loaded.get(f"/dashboard?year={year}").get_data(as_text=True)
    totals, above = page_numbers(html)
    rows = loaded.get(f"/api/v1/insights/hires-by-quarter?year={year}").get_json()["rows"]
    expected = {}
    for row in rows:
        expected[row["department"]] = expected.get(row["department"], 0) + sum(
            row[q] for q in ("Q1", "Q2", "Q3", "Q4")
        )
    assert totals == expected and len(totals) == 12
    api = loaded.get(f"/api/v1/insights/departments-above-mean?year={year}").get_json()
    assert above == [(r["department"], r["id"], r["hired"]) for r in api["rows"]]
    assert f"mean {api['mean']:.2f}" in html
    assert 'id="mean-line"' in html


def test_the_department_filter_and_bad_years(loaded):
    html = loaded.get("/dashboard?year=2021&department=Staff").get_data(as_text=True)
    table = html[html.index('id="quarters"') :]
    departments = set(re.findall(r"<tr><td>([^<]+)</td><td class=\"text\">", table))
    assert departments == {"Staff"}
    assert loaded.get("/dashboard?year=abc").status_code == 422
    assert loaded.get("/dashboard?year=1800").status_code == 422
    assert "/dashboard" in loaded.get("/openapi.json").get_json()["info"]["description"]


def test_the_page_needs_the_key_when_one_is_set(settings):
    app = create_app(replace(settings, api_key="k3y"))
    try:
        client = app.test_client()
        refused = client.get("/dashboard")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        assert client.get("/dashboard", auth=("anyone", "wrong")).status_code == 401
        assert client.get("/dashboard", auth=("anyone", "k3y")).status_code == 200
    finally:
        app.extensions["hrapi.db"].close()


def chromium() -> str:
    """Debian's Chromium, installed here when it is missing (the test needs a real browser)."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True, capture_output=True, env={"DEBIAN_FRONTEND": "noninteractive",
                                                  "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )  # fmt: skip
        found = shutil.which("chromium")
    assert found, "Chromium could not be installed"
    return found


def test_a_real_browser_draws_a_bar_group_per_department(loaded, app, tmp_path):
    browser = chromium()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/dashboard?year=2021"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1600"]  # fmt: skip
    try:
        shot = tmp_path / "dashboard.png"
        subprocess.run([browser, *flags, f"--screenshot={shot}", url], check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        dom = subprocess.run([browser, *flags, "--dump-dom", url], check=True,
                             capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    finally:
        server.shutdown()
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 1600) and len(png) > 20_000
    rows = loaded.get("/api/v1/insights/hires-by-quarter?year=2021").get_json()["rows"]
    with_hires = {r["department"] for r in rows}
    drawn = re.findall(r'<g class="bar-group" data-department="([^"]+)"', dom)
    assert sorted(drawn) == sorted(with_hires)
    assert len(re.findall(r'<g class="above-bar">', dom)) >= 1


def test_the_year_menu_an_empty_year_and_bad_requests_as_pages(loaded):
    html = loaded.get("/dashboard?year=2030").get_data(as_text=True)
    assert "No hires in 2030." in html
    menu = re.findall(r'<option value="(\d+)"( selected)?>', html)
    assert menu == [("2021", ""), ("2022", ""), ("2030", " selected")]
    assert 'class="bar-group"' not in html
    bad = loaded.get("/dashboard?year=abc")
    assert bad.status_code == 422 and bad.mimetype == "text/html"
    page = bad.get_data(as_text=True)
    assert "from 1900 to 2100" in page and 'href="/dashboard?year=2021"' in page
    unknown = loaded.get("/dashboard?year=2021&department=Nowhere")
    assert unknown.status_code == 404 and "Nowhere" in unknown.get_data(as_text=True)


def test_the_quarter_table_is_grouped_by_department_with_csv_links(loaded):
    html = loaded.get("/dashboard?year=2021").get_data(as_text=True)
    summaries = re.findall(r"<summary>([^:<]+): (\d+) hires", html)
    totals, _ = page_numbers(html)
    assert {d: int(n) for d, n in summaries} == totals
    assert "/api/v1/insights/hires-by-quarter?year=2021&amp;format=csv" in html
    assert 'viewBox="0 0 ' in html and 'width="760"' not in html
