"""The wheel works outside the checkout: built, installed, then run from another folder with
only DATABASE_URL set (the SQL ships inside it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

from hrapi.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """hrapi's wheel, built and installed (without its dependencies, which this environment
    has) into a folder of its own."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(folder / "dist"), str(PROJECT_ROOT)], check=True, timeout=600)  # fmt: skip
    (wheel,) = (folder / "dist").glob("hrapi-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hrapi/sql/schema/001_initial.sql" in names
    assert "hrapi/sql/insights/hires_by_quarter.sql" in names
    target = folder / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, timeout=600)  # fmt: skip
    return target


def test_the_installed_wheel_migrates_and_serves_from_any_folder(installed, database_url,
                                                                tmp_path):  # fmt: skip
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(installed), "DATABASE_URL": database_url,
           "HOME": str(tmp_path)}  # fmt: skip

    def python(*code: str):
        return subprocess.run([sys.executable, "-c", *code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    assert python("import hrapi; print(hrapi.__file__)").stdout.startswith(str(installed))
    init = python("from hrapi.cli import main; main()", "init-db")
    assert init.returncode == 0, init.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "hrapi:create_app()"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/insights/departments-above-mean?year=2021"
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the installed wheel did not serve"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
