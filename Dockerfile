# Afterglow: a slim image, dependencies in their own layer, a non-root user, data in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install --no-deps . && rm -rf /app/build

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin afterglow \
    && mkdir -p /data && chown afterglow:afterglow /data
USER afterglow
WORKDIR /data
VOLUME ["/data"]
ENV AFTERGLOW_DB=/data/afterglow.db \
    AFTERGLOW_BACKUP_DIR=/data/backups

# Unhealthy when the configuration or database is wrong, or when the dispatcher's last pass
# is more than three intervals (90 s) old: a bot that hangs is restarted.
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
    CMD ["afterglow", "check", "--live"]

# On SIGTERM the bot finishes what is in flight: give it 30 s (docker stop -t 30).
STOPSIGNAL SIGTERM
CMD ["afterglow", "run"]
