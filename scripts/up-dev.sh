#!/usr/bin/env bash
# Brings up the dev stack on local Docker: no cloud account, no Pulumi Cloud login. State lives
# in .pulumi/ (git-ignored) and secrets are encrypted with a passphrase that Pulumi asks for
# (or reads from PULUMI_CONFIG_PASSPHRASE_FILE for unattended runs; never put it on a command line).
#
# The stack's config is .pulumi/Pulumi.dev.yaml, copied once from the tracked Pulumi.dev.yaml:
# Pulumi writes the passphrase's `encryptionsalt` and every `config set --secret` value into the
# stack's config file, and neither belongs in git. Run any other pulumi command on it with
#   npm run up:dev -- --pulumi config set pgstack:publishPort 15432
# (everything after --pulumi is passed to pulumi with this backend, stack and config file).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in pulumi docker; do
  command -v "$tool" >/dev/null 2>&1 || { echo "up:dev needs the $tool CLI on PATH" >&2; exit 1; }
done
[ -d node_modules/@pulumi/pulumi ] || { echo "up:dev needs the dependencies: run npm ci first" >&2; exit 1; }

# The Docker provider talks to DOCKER_HOST, or /var/run/docker.sock when unset, which is not
# where Colima, Rancher Desktop, OrbStack or rootless Docker listen: use the active context's endpoint.
if [ -z "${DOCKER_HOST:-}" ]; then
  DOCKER_HOST="$(docker context inspect --format '{{.Endpoints.docker.Host}}')"
  export DOCKER_HOST
fi
docker info >/dev/null 2>&1 || { echo "up:dev needs a running Docker engine at $DOCKER_HOST (docker info failed)" >&2; exit 1; }

mkdir -p .pulumi
export PULUMI_BACKEND_URL="file://$PWD/.pulumi"
# Type checking is `npx tsc --noEmit` (npm test, CI); the program itself only needs transpiling,
# which makes the first run fast (read by @pulumi/pulumi's cmd/run/run.js).
export PULUMI_NODEJS_TRANSPILE_ONLY=true

STACK_CONFIG=.pulumi/Pulumi.dev.yaml
[ -f "$STACK_CONFIG" ] || cp Pulumi.dev.yaml "$STACK_CONFIG"
if ! pulumi stack select dev 2>/dev/null; then
  pulumi stack init dev --secrets-provider passphrase
fi
# `stack init` writes the salt into the tracked file: move it to the stack's own config file.
if grep -q '^encryptionsalt:' Pulumi.dev.yaml; then
  grep -q '^encryptionsalt:' "$STACK_CONFIG" || grep '^encryptionsalt:' Pulumi.dev.yaml >>"$STACK_CONFIG"
  sed -i.bak '/^encryptionsalt:/d' Pulumi.dev.yaml && rm -f Pulumi.dev.yaml.bak
fi

if [ "${1:-}" = "--pulumi" ]; then
  shift
  case "${1:-}" in
    config | preview | up | refresh | destroy) exec pulumi "$@" --stack dev --config-file "$STACK_CONFIG" ;;
    *) exec pulumi "$@" --stack dev ;;
  esac
fi

# --refresh: after a Docker reset (Docker Desktop "clean / purge", a new Colima VM) the state
# still lists containers and volumes that are gone; reading them back first recreates them
# instead of failing. The policy pack runs on every update, advisory in dev.
pulumi up --stack dev --config-file "$STACK_CONFIG" --refresh \
  --policy-pack policies --policy-pack-config policies/config/dev.json "$@"

# The stack CA, which `psql ... sslmode=verify-full` checks the server with, and that command.
pulumi stack output --stack dev caCertificate >pgstack-dev-ca.crt
echo "Connect with (password: bash scripts/up-dev.sh --pulumi stack output --show-secrets appPassword):"
pulumi stack output --stack dev psql
