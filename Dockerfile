FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Kanji the invoice PDF's font lacks (𠮷 of 𠮷田) are printed from Hanazono Mincho.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-hanazono \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs a key at build time only; the real one comes from the environment.
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput
# var/beat exists and belongs to app, so the beat volume mounted there is app's too.
RUN useradd --create-home app && mkdir -p /app/var/beat && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]
