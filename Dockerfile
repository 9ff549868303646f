# Interview Live: one container, embedded defaults (SQLite + in-process bus), data in /data.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# mediapipe/opencv need these shared libraries at run time
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY common ./common
COPY server ./server
COPY media ./media
COPY analyzers ./analyzers
COPY loadtest ./loadtest
COPY web ./web
RUN pip install .

RUN useradd --system --home /data interview && mkdir -p /data && chown interview /data
USER interview
VOLUME ["/data"]
EXPOSE 8080
# Set INTERVIEW_ICE_HOSTS to the address candidates reach and INTERVIEW_PUBLIC_URL to the https URL.
# Every role runs from this image: INTERVIEW_ROLES=media,api | analyzer | api, with the shared
# settings of docs/deploy/machines.md (INTERVIEW_DATABASE_URL, INTERVIEW_REDIS_URL, the keys, and
# INTERVIEW_RECORDINGS_URL or a shared mount at INTERVIEW_RECORDINGS_DIR).
CMD ["interview-live", "serve", "--data-dir", "/data", "--host", "0.0.0.0", "--port", "8080"]
