# syntax=docker/dockerfile:1

# Build stage: build Faultline's wheel and install it, with its dependencies, into a venv.
# The newest stable Python: Faultline reads the syntax of every version from 3.8 on, whatever runs it.
FROM python:3.15-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/faultline
COPY pyproject.toml README.md ./
# faultline/ holds links to analyzers/ and app/: the wheel gets one `faultline` package.
COPY faultline ./faultline
COPY analyzers ./analyzers
COPY app ./app
RUN /opt/faultline/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && WHEEL=$(ls /wheels/faultline_review-*.whl) \
    && /opt/faultline/bin/pip install "${WHEEL}[app]"

# Final stage: the venv only (no compiler, no sources), run by an unprivileged user.
FROM python:3.15-slim
ENV PATH=/opt/faultline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FAULTLINE_DATA_DIR=/data \
    FAULTLINE_PORT=8000
RUN groupadd --system --gid 10001 faultline \
    && useradd --system --uid 10001 --gid faultline --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin faultline \
    && mkdir /data \
    && chown faultline:faultline /data
COPY --from=build /opt/faultline /opt/faultline
# The job queue, and the .env written when the App is registered, live in the volume.
WORKDIR /data
VOLUME ["/data"]
USER faultline
EXPOSE 8000
# slim has no curl: ask /healthz with Python (a 503 raises, so the exit code is 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FAULTLINE_PORT', '8000') + '/healthz', timeout=4)"]
# Running jobs get 20 s to finish on SIGTERM; what is cut short runs again on the next start.
STOPSIGNAL SIGTERM
CMD ["faultline", "serve", "--host", "0.0.0.0"]
