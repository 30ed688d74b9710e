# syntax=docker/dockerfile:1
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system yitu && useradd --system --gid yitu --home-dir /app --shell /usr/sbin/nologin yitu

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY geo ./geo
COPY web ./web
COPY data ./data
# Editable install keeps the repository layout (data/ beside geo/ and web/).
RUN pip install -c constraints.txt -e . \
    && if [ -d web/translations ]; then pybabel compile -d web/translations; fi \
    && mkdir -p /app/instance && chown yitu:yitu /app/instance

USER yitu
EXPOSE 5000
# Migrations on start, then gunicorn (the `yitu serve` command).
CMD ["sh", "-c", "yitu db upgrade --no-create && yitu serve --host 0.0.0.0 --port 5000"]
