# recsvc: the branch cross-sell service. Build: docker build -t recsvc .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# LightGBM needs the OpenMP runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 recsvc
WORKDIR /app
COPY pyproject.toml README.md gunicorn.conf.py ./
COPY recsvc ./recsvc
COPY training ./training
RUN pip install --no-cache-dir .

# Published models and the store live on volumes, not in the image
ENV RECSVC_REGISTRY_DIR=/data/model_registry DATABASE_URL=sqlite:////data/recsvc.db
RUN mkdir -p /data && chown recsvc /data
VOLUME ["/data"]
USER recsvc
EXPOSE 8000
CMD ["python", "-m", "recsvc", "serve", "--host", "0.0.0.0", "--port", "8000"]
