/**
 * Pinned images of the monitoring components: tag for readers, digest (the multi-platform
 * manifest list) for the runtime. Each digest was checked against public references with the
 * search tool on 2026-12-01; the sources are named beside each pin.
 */

/**
 * prometheus-community/postgres_exporter v0.20.1 (upstream tag commit 867fbcac31cd). Digest as
 * published on quay.io, ghcr.io and Docker Hub alike: found in several independent pinned
 * deployments (e.g. a Terraform image map and a trusted-images inventory listing
 * `quay.io/prometheuscommunity/postgres-exporter` tag v0.20.1 with this index digest).
 */
export const POSTGRES_EXPORTER_IMAGE =
  "quay.io/prometheuscommunity/postgres-exporter:v0.20.1@sha256:ac5ec343104fae0e2d84a27bb8d69b38430a11910c5382cad85d478d2bab713e";

/**
 * Prometheus v3.5.0, an LTS release. The digest is the manifest list of `prom/prometheus:v3.5.0`,
 * pinned identically by many public repositories (compose files, promtool CI scripts).
 */
export const PROMETHEUS_IMAGE =
  "prom/prometheus:v3.5.0@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996";

/**
 * Alertmanager v0.28.1. The digest is the manifest list of `prom/alertmanager:v0.28.1`, recorded
 * by public repositories as verified with `docker buildx imagetools inspect`.
 */
export const ALERTMANAGER_IMAGE =
  "prom/alertmanager:v0.28.1@sha256:27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba";

/**
 * Pushgateway v1.11.1, where the backup runner's jobs push their outcome. The digest is the
 * manifest list of `prom/pushgateway:v1.11.1`, pinned identically by independent public
 * repositories (a diagnostics script and a compose stack's image list).
 */
export const PUSHGATEWAY_IMAGE =
  "prom/pushgateway:v1.11.1@sha256:03738d278e082ee9821df730c741b3b465c251fc2b68a85883def301a55a6215";
