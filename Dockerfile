FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crm crm
COPY accounts accounts
COPY inbox inbox
COPY outreach outreach
COPY pipeline pipeline
COPY contacts contacts
COPY reports reports
COPY automation automation
COPY agents agents
COPY webhooks webhooks
COPY api api
COPY tgsim tgsim
RUN pip install --no-cache-dir .
COPY . .
# Collected as production serves them (hashed names and their manifest): a DEBUG collect writes no
# manifest. Settings refuse to load without SECRET_KEY outside DEBUG; collecting needs none of its own.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input
EXPOSE 8000
HEALTHCHECK CMD ["python", "-m", "crm.healthcheck"]
CMD ["uvicorn", "crm.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
