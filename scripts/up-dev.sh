#!/usr/bin/env bash
# Brings up the dev stack on local Docker: no cloud account, no Pulumi Cloud login. State lives
# in .pulumi/ (git-ignored) and secrets are encrypted with a passphrase that Pulumi asks for
# (or reads from PULUMI_CONFIG_PASSPHRASE_FILE for unattended runs; never put it on a command line).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in pulumi docker; do
  command -v "$tool" >/dev/null 2>&1 || { echo "up:dev needs the $tool CLI on PATH" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "up:dev needs a running Docker engine (docker info failed)" >&2; exit 1; }
mkdir -p .pulumi
export PULUMI_BACKEND_URL="file://$PWD/.pulumi"
pulumi stack select --create dev
exec pulumi up --stack dev "$@"
