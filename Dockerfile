# The Agora image: one image for the web server (uvicorn) and the outbox worker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e .
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0
RUN useradd --create-home agora && mkdir -p /app/var && chown -R agora /app/var
USER agora
EXPOSE 8000
CMD ["uvicorn", "intranet.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--lifespan", "off", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]
