# Afterglow: a slim image, dependencies in their own layer, a non-root user, data in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt

COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install --no-deps .

RUN useradd --system --uid 10001 --home-dir /data afterglow \
    && mkdir -p /data && chown afterglow /data
USER afterglow
WORKDIR /data
VOLUME ["/data"]
ENV AFTERGLOW_DB=/data/afterglow.db

CMD ["afterglow", "run"]
