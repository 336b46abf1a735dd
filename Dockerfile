# One image for every agentload service of docker-compose.yml and deploy/k8s/: the engine, the agent
# API, and Locust (master and workers). Build: `docker build -t agentload:local .`
# /results: where a compose or Kubernetes run writes its results folder (owned by the image's user,
# so a fresh named volume mounted there is writable).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The two packages, and the stock locustfiles, profiles and scenario configs of the repository's
# top-level folders: pyproject.toml maps those into the wheel's agentload/data/<kind>/
# (package-dir), beside the API descriptions and datasets of agentload/data/. /app/locustfiles/
# also serves plain Locust (`locust -f locustfiles/agents.py`, docker-compose.yml's profile ui).
COPY pyproject.toml README.md ./
COPY agentload ./agentload
COPY target_service ./target_service
COPY locustfiles ./locustfiles
COPY profiles ./profiles
COPY scenarios ./scenarios
RUN pip install .

RUN useradd --create-home --uid 1000 agentload \
    && mkdir -p /data /results \
    && chown agentload /data /results
USER agentload
ENV AGENT_DB_PATH=/data/agentload-jobs.sqlite

# agent API, engine, Locust web UI, Locust master <-> workers, client-side metrics
EXPOSE 8000 8001 8089 5557 9646
CMD ["python", "-m", "target_service", "--host", "0.0.0.0", "--port", "8000", "--engine-port", "8001"]
