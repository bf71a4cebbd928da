#!/usr/bin/env bash
# Validates the fleet sweep definitions offline against their schemas: the GitHub Actions
# workflow (check-jsonschema's vendored github-workflows schema) and the Kubernetes Indexed Job
# (kubernetes-validate's bundled OpenAPI schemas). Installs both from PyPI if missing.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
if ! have check-jsonschema || ! have kubernetes-validate; then
  step "installing check-jsonschema and kubernetes-validate (PyPI)"
  python3 -m pip install --quiet check-jsonschema kubernetes-validate
fi
step "check-jsonschema: .github/workflows/*.yml"
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
step "kubernetes-validate: deploy/*.yaml"
kubernetes-validate --strict deploy/*.yaml
