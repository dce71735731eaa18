#!/usr/bin/env bash
# Runs before `npm test`: the proving ground runs the rendered configuration on real
# PostgreSQL 15 and pgBackRest binaries; the alert rules are tested with promtool. Installs them with apt when run as root (CI and fresh
# machines); otherwise names the command to run.
set -euo pipefail
missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
command -v pgbackrest >/dev/null 2>&1 || missing+=(pgbackrest)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# promtool (package prometheus) checks and unit-tests the rendered alert rules; the exporter
# runs the rendered custom queries against a local server as the monitoring role; amtool checks
# the dev Alertmanager config; the runner's report script is proven through a Pushgateway.
[ -x /usr/bin/promtool ] || missing+=(prometheus)
[ -x /usr/bin/prometheus-postgres-exporter ] || missing+=(prometheus-postgres-exporter)
[ -x /usr/bin/amtool ] || missing+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus-pushgateway ] || missing+=(prometheus-pushgateway)
# curl: the runner's report scripts push with it (the image has it), and the alert proofs ask
# their Prometheus inside its network namespace.
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The proving ground runs each container as its platform does: tini as PID 1, namespaces
# (unshare, nsenter, setpriv from util-linux; ip from iproute2).
command -v tini >/dev/null 2>&1 || missing+=(tini)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[pgstack] installing ${missing[*]} (needed by the proving ground)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "[pgstack] the tests need ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
exit 1
