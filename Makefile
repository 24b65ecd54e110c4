# The single door for people and CI. Run as root on a Debian machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Bytecode caches in files/ would show up as changes to the sample app's source.
export PYTHONDONTWRITEBYTECODE := 1
SCENARIOS := $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))

.PHONY: help setup images demo demo-clean test lint unit molecule bench clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## Install what the other targets need (apt packages, dockerd, .venv)
	@scripts/host-setup.sh

images: setup ## Build the Debian 12/13 systemd base images (once)
	@molecule/build-images.sh --ssh

demo: setup ## Deploy the sample app into a local container and show the page
	@molecule/build-images.sh bookworm
	ansible-playbook playbooks/demo-host.yml
	ansible-playbook -i inventory/demo site.yml
	@python scripts/show_demo.py

bench: demo ## Figures: wrk against dev server/Gunicorn/the stack, a deploy under load, converge cost, fleet rollouts
	python scripts/bench.py

demo-clean: ## Remove the demo container
	-docker rm -f flask-app-demo

test: setup lint unit molecule ## Lint, unit tests and every Molecule scenario

lint: setup ## yamllint, ansible-lint (production profile), ruff, Galaxy's role import
	yamllint --strict .
	ansible-lint --profile production --offline
	ruff check .
	ruff format --check .
	@scripts/galaxy-import-check.sh

unit: setup ## The sample app's tests and the role's static tests
	python -m pytest -q files/hello/tests files/examples/board/tests roles/flask_app/tests roles/flask_app_lb/tests scripts/tests

molecule: images ## Every Molecule scenario, two at a time (MOLECULE_JOBS=1 for one): $(SCENARIOS)
	@scripts/run-scenarios.sh $(SCENARIOS)

clean: demo-clean ## Remove the venv (images stay; docker rmi them to rebuild)
	rm -rf $(VENV)
