FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crm crm
COPY accounts accounts
COPY inbox inbox
COPY outreach outreach
COPY tgsim tgsim
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=1 python manage.py collectstatic --no-input
EXPOSE 8000
HEALTHCHECK CMD ["python", "-m", "crm.healthcheck"]
CMD ["uvicorn", "crm.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
