# The Chirp API and its fan-out worker, for docker-compose.yml.
FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 PYTHONUNBUFFERED=1
# curl fetches GraphiQL's files (scripts/graphiql.sh) into the image, so that the page loads nothing from elsewhere.
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY . .
ENV CHIRP_CACHE=/app/.cache GRAPHIQL_ASSETS_DIR=/app/.cache/graphiql-3.8.3
RUN scripts/graphiql.sh
ENV PATH=/app/.venv/bin:$PATH
EXPOSE 8000
CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]
