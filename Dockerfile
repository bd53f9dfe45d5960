# Production image: gunicorn for the web, the same image runs the Celery worker and beat.
# Front-end assets come from npm in a build stage; the runtime image has no node.

FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/ scripts/
RUN npm ci --no-audit --no-fund && npm run vendor

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=false \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

# CJK fonts and Pango: PDF exports (WeasyPrint) render Chinese text.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 portal \
    && mkdir -p /data/media \
    && chown portal:portal /data/media

WORKDIR /app
COPY . .
COPY --from=assets /src/static/vendor/ static/vendor/
# Editable, so the code (and BASE_DIR, which finds templates/ and static/) stays in /app.
RUN pip install -e . \
    && SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
       python manage.py collectstatic --noinput

USER portal
EXPOSE 8000
CMD ["gunicorn", "governance.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
