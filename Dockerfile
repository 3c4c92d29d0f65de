# hrapi: the API under gunicorn. Build: docker build -t hrapi .   (see docker-compose.yml)

# --- build: install hrapi and its dependencies (all wheels) into a virtualenv ---
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml setup.cfg README.md ./
COPY src ./src
COPY sql ./sql
RUN /opt/venv/bin/pip install .

# --- runtime: the virtualenv (the SQL is inside hrapi's wheel), no compilers, a non-root user ---
FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 hrapi \
    && mkdir -p /backups \
    && chown hrapi /backups
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HRAPI_BACKUP_DIR=/backups \
    HOST=0.0.0.0 \
    PORT=8000 \
    GUNICORN_TIMEOUT=600
WORKDIR /app
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "python:hrapi.gunicorn_conf", "hrapi:create_app()"]
