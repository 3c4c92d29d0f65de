"""The deployment files: hadolint-clean Dockerfile, a valid compose file, and the container's
exact command line and environment serving the API here (no Docker engine runs here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.test_gunicorn import call, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def dockerfile_runtime() -> tuple[list[str], dict[str, str]]:
    """The final stage's CMD and ENV, as the container would run."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final = text[text.rindex("FROM ") :]
    command = json.loads(re.search(r"^CMD (\[.*\])$", final, re.M).group(1))
    env = {}
    for line in re.findall(r"^ENV (.*)$", final, re.M):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return command, env


def test_dockerfile_is_clean_under_hadolint():
    result = subprocess.run(
        [BIN / "hadolint", ROOT / "Dockerfile"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout


def test_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec",
         ROOT / "docker-compose.yml"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "condition: service_healthy" in compose
    assert "HRAPI_API_KEY: ${HRAPI_API_KEY" in compose
    assert re.search(r"image: postgres:\d+\n", compose)
    example = (ROOT / ".env.example").read_text()
    for name in set(re.findall(r"\$\{(\w+)[:}]", compose)) - {"SEED_DIR", "WEB_CONCURRENCY"}:
        assert f"{name}=" in example, name


def test_the_container_command_serves_the_api_with_a_key(database_url, tmp_path):
    command, env = dockerfile_runtime()
    assert command[0] == "gunicorn"
    port = free_port()
    env.update(
        PATH=f"{BIN}:{os.environ['PATH']}",
        DATABASE_URL=database_url,
        HRAPI_API_KEY="container-key",
        PORT=str(port),
        HRAPI_BACKUP_DIR=str(tmp_path),  # /backups in the image
    )
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [shutil.which("gunicorn", path=env["PATH"]), *command[1:]],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, tmp_path / "server.log")
        assert call(base, "GET", "/api/v1/loads")[0] == 401
        request = urllib.request.Request(
            base + "/api/v1/loads", headers={"Authorization": "Bearer container-key"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("name", ["Dockerfile", ".dockerignore", "docker-compose.yml"])
def test_deployment_files_exist(name):
    assert (ROOT / name).is_file()
