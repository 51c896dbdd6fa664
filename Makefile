# mlops-pipelines: the two commands a newcomer runs are `make demo` and `make test`.
# Everything that imports tensorflow/tfx runs inside the project image (Debian 13, Python 3.13);
# Airflow, Terraform checks and browser tests run on the host in their own venvs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

IMAGE_NAME ?= mlops-pipelines
# A Debian 13 image with python3. Where Docker Hub is reachable: BASE_IMAGE=python:3.13-slim-trixie.
# The default is bootstrapped from Debian packages (mmdebstrap) when missing.
BASE_IMAGE ?= mlops-base:trixie
# Extra CA certificates (*.crt) baked into the image, for TLS-intercepting proxies. May be empty.
EXTRA_CA_CERTS_DIR ?= /usr/local/share/ca-certificates
# The image tag follows the Dockerfile and the lock file: a dependency change means a new image.
IMAGE_TAG := $(shell cat infra/docker/Dockerfile infra/docker/requirements.lock 2>/dev/null | sha256sum | cut -c1-12)
IMAGE := $(IMAGE_NAME):$(IMAGE_TAG)
CONFIG ?= pipelines/configs/penguins.yaml
RUN_DIR ?= runs/penguins
PYTEST_ARGS ?=

# The repo is mounted over the image's /src, so local edits run without rebuilding.
# Containers run as the caller (files they write under the repo are the caller's), never as the
# image's root: the image's own user is 10001 (infra/docker/Dockerfile).
RUN_AS := $(shell id -u):$(shell id -g)
DOCKER_RUN = docker run --rm --network host --user $(RUN_AS) -v "$(CURDIR)":/src -w /src -e HOME=/tmp \
	$(foreach v,AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION STORAGE_EMULATOR_HOST GOOGLE_CLOUD_PROJECT MLOPS_IMAGE MLFLOW_TRACKING_URI,$(if $($(v)),-e $(v))) \
	$(DOCKER_RUN_ARGS)

.PHONY: help setup docker image base lock demo compile golden test test-image test-airflow test-infra \
	airflow serve clean bench mlflow kafka

help:  ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

docker:  ## Make sure a Docker engine answers (starts a private dockerd as root if none)
	@bash infra/scripts/ensure-dockerd.sh

base: docker
	@if [ "$(BASE_IMAGE)" = "mlops-base:trixie" ]; then bash infra/docker/bootstrap-base.sh $(BASE_IMAGE); fi

# The dependency layer is cached, so a rebuild after code changes takes seconds; the source copy
# in the image is what Kubeflow (and kfp.local) tasks run.
image: base  ## Build the project image (dependency layers are reused when the Dockerfile and lock are unchanged)
	@rm -rf .build/ca-certs && mkdir -p .build/ca-certs && { cp $(EXTRA_CA_CERTS_DIR)/*.crt .build/ca-certs/ 2>/dev/null || true; }
	@docker image inspect $(IMAGE) >/dev/null 2>&1 || echo "[image] building $(IMAGE) from $(BASE_IMAGE) (3-6 min the first time)"
	@docker build -q --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) -f infra/docker/Dockerfile -t $(IMAGE) . >/dev/null
	@docker tag $(IMAGE) $(IMAGE_NAME):latest
	@echo "[image] $(IMAGE) ready (also tagged $(IMAGE_NAME):latest)"

lock: base  ## Resolve infra/docker/requirements.in into requirements.lock, keeping existing pins (LOCK_RELEASE="pkg ..." frees some, LOCK_UPGRADE=1 all)
	@rm -rf .build/ca-certs && mkdir -p .build/ca-certs && { cp $(EXTRA_CA_CERTS_DIR)/*.crt .build/ca-certs/ 2>/dev/null || true; }
	docker run --rm --network host -e LOCK_UPGRADE=$(LOCK_UPGRADE) -e LOCK_RELEASE="$(LOCK_RELEASE)" -v "$(CURDIR)":/src $(BASE_IMAGE) bash /src/infra/docker/lock.sh

setup: image  ## Install everything: Docker engine, project image, host venvs
	@bash infra/scripts/setup-airflow.sh
	@bash infra/scripts/test-infra.sh --setup-only

demo: image  ## Run the penguins pipeline locally and push a model (runs/penguins)
	$(DOCKER_RUN) $(IMAGE) mlops run --config $(CONFIG) --output-dir $(RUN_DIR)

compile: image  ## Compile the pipeline to KFP v2 YAML (build/<name>_pipeline.yaml)
	@mkdir -p build
	$(DOCKER_RUN) $(IMAGE) mlops compile --config $(CONFIG) --output build/$$(basename $(CONFIG) .yaml)_pipeline.yaml

golden: image  ## Regenerate the golden compiled spec under tests/golden/
	$(DOCKER_RUN) $(IMAGE) python -m tests.golden

serve: image  ## Serve the newest pushed model on http://127.0.0.1:8501
	$(DOCKER_RUN) $(IMAGE) mlops serve --config $(CONFIG) --host 127.0.0.1 --port 8501 --log-dir runs/prediction-logs

KAFKA_PORT ?= 9092
kafka: image  ## A local Kafka-protocol broker (Tansu, memory only) on 127.0.0.1:9092 with the monitoring topics
	$(DOCKER_RUN) -e KAFKA_PORT=$(KAFKA_PORT) $(IMAGE) bash infra/scripts/kafka-local.sh

MLFLOW_PORT ?= 5000
mlflow: image  ## MLflow UI over the embedded tracking store (runs/mlflow) on http://127.0.0.1:5000
	@mkdir -p runs/mlflow/artifacts
	@echo "[mlflow] http://127.0.0.1:$(MLFLOW_PORT)  (store: runs/mlflow/mlflow.db; Ctrl-C stops it)"
	$(DOCKER_RUN) -e MLFLOW_DISABLE_TELEMETRY=true $(IMAGE) mlflow server --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--backend-store-uri sqlite:////src/runs/mlflow/mlflow.db --artifacts-destination /src/runs/mlflow/artifacts --workers 1

bench: image  ## Run the benchmarks (see docs/benchmarks.md)
	$(DOCKER_RUN) $(IMAGE) python -m benchmarks.pipeline_overhead
	$(DOCKER_RUN) $(IMAGE) python -m benchmarks.serving_latency

airflow: image  ## Start a local Airflow (127.0.0.1) with the DAGs in dags/
	@bash infra/scripts/setup-airflow.sh
	@bash infra/scripts/airflow-local.sh

test: image  ## Run every test: image-side, Airflow, infra; prints one summary
	@rm -rf test-results && mkdir -p test-results
	@rc=0; \
	$(MAKE) --no-print-directory test-image || rc=1; \
	$(MAKE) --no-print-directory test-infra || rc=1; \
	$(MAKE) --no-print-directory test-airflow || rc=1; \
	python3 infra/scripts/test_summary.py test-results/*.xml || rc=1; \
	exit $$rc

# The Docker socket and the repo at its host path let tests/e2e/test_kfp_local.py start kfp.local
# task containers whose bind mounts mean the same path on both sides.
test-image: image  ## Tests that import tensorflow/tfx, inside the project image
	@mkdir -p test-results
	$(DOCKER_RUN) -v /var/run/docker.sock:/var/run/docker.sock --group-add $$(stat -c %g /var/run/docker.sock) \
		-v "$(CURDIR)":"$(CURDIR)" -e MLOPS_HOST_REPO="$(CURDIR)" \
		-e MLOPS_IMAGE=$(IMAGE) $(IMAGE) python -m pytest $(PYTEST_ARGS) --junitxml=test-results/image.xml

test-infra:  ## Terraform parse/cross-check/checkov tests (host venvs)
	@bash infra/scripts/test-infra.sh $(PYTEST_ARGS)

test-airflow: image  ## Airflow DAG tests, dag.test(), browser test (host venv)
	@bash infra/scripts/test-airflow.sh $(PYTEST_ARGS)

clean:  ## Remove run outputs and test results (keeps images and venvs)
	rm -rf runs test-results build .build/airflow
