# syntax=docker/dockerfile:1
# Two stages: a builder makes the wheel (and compiles translations); the
# runtime stage installs only that wheel, pinned by constraints.txt, and runs
# as a non-root user.  Migrations are NOT run here: the compose `migrate`
# service runs them once, as the owner (docs/operations.md).

# Base pinned to a patch release; bump deliberately (and pin by digest where the registry is reachable).
FROM python:3.11.10-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md babel.cfg ./
COPY geo ./geo
COPY web ./web
RUN pip install -c constraints.txt babel \
    && if [ -d web/translations ]; then pybabel compile -d web/translations; fi \
    && pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11.10-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YITU_REQUIRE_SECRET_KEY=true
RUN groupadd --system yitu \
    && useradd --system --gid yitu --home-dir /app --shell /usr/sbin/nologin yitu
WORKDIR /app
COPY constraints.txt /tmp/constraints.txt
COPY --from=build /wheels /wheels
RUN pip install -c /tmp/constraints.txt /wheels/*.whl && rm -rf /wheels /tmp/constraints.txt
# The district boundaries ship inside the wheel (geo/places/data, read through
# importlib.resources).  The demo city and the inspection standards are still
# read from the folder beside the installed packages (parents[2] / "data").
COPY data /usr/local/lib/python3.11/data
RUN mkdir -p /app/instance && chown yitu:yitu /app/instance

USER yitu
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=2).status == 200 else 1)"]
# exec: gunicorn becomes PID 1's child-free replacement and receives SIGTERM directly.
CMD ["sh", "-c", "exec yitu serve --host 0.0.0.0 --port 5000 --workers ${YITU_WORKERS:-3}"]
