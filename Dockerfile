# rnnlab: one image for the API (`rnnlab serve`) and the job workers (`rnnlab worker`).
#   docker build -t rnnlab .
#   docker run -p 8000:8000 -v rnnlab-data:/data rnnlab                 # embedded: API + workers
#   docker run -e RNNLAB_QUEUE_URL=redis://redis:6379/0 rnnlab rnnlab worker   # a worker
# See docker-compose.yml for the distributed setup.

# --- build: install the package and its dependencies into a virtualenv ------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY service ./service
RUN pip install --no-cache-dir . \
    && rnnlab --help > /dev/null

# --- runtime: the virtualenv only, run by an unprivileged user --------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    RNNLAB_DATA_DIR=/data \
    RNNLAB_HOST=0.0.0.0 \
    RNNLAB_PORT=8000
RUN groupadd --system --gid 10001 rnnlab \
    && useradd --system --uid 10001 --gid rnnlab --no-create-home --shell /usr/sbin/nologin rnnlab \
    && mkdir /data \
    && chown rnnlab:rnnlab /data
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# Liveness of the API; worker containers (`rnnlab worker`) serve no HTTP: disable it there.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('RNNLAB_PORT', '8000'), timeout=2)"]
# The launcher handles SIGTERM: uvicorn stops gracefully, running jobs are requeued.
CMD ["rnnlab", "serve"]
