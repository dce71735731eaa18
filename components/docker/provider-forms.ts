/**
 * Inputs in the form the Docker provider reads back from the engine. The provider
 * (pulumi-docker, bridged from kreuzwerker/terraform-provider-docker) stores what it reads after
 * each create and diffs the next program's inputs against that: an input written any other way
 * differs on every `pulumi up`, and `cpus` is ForceNew, so the container is replaced each time.
 *
 * Read-back rules, from kreuzwerker/terraform-provider-docker (v4.5.0-5-g83c00e0b, read on
 * 2026-12-01; pulumi-docker builds its provider from that repository as `../upstream`):
 * - `cpus`: internal/provider/resource_docker_container_funcs.go sets it from HostConfig.NanoCPUs
 *   with `nanoInt64ToDecimalString` (internal/provider/helpers.go): the value with 9 decimals,
 *   then "1.0" style when those 9 digits are the only zeros, else trailing zeros trimmed.
 * - healthcheck `interval`, `timeout`, `start_period`, `start_interval`: set from Go's
 *   `time.Duration.String()` ("10s", "2m0s", "30m0s", "1h0m0s").
 * - `memory`, `memory_swap`, `memory_reservation`, `shm_size`: bytes / 1024 / 1024, whole MB.
 */

/** `cpus` as the provider reads it back (nanoInt64ToDecimalString of cpus * 1e9). */
export function dockerCpus(cpus: number): string {
  if (!Number.isFinite(cpus) || cpus <= 0) throw new Error(`dockerCpus: ${cpus} is not a positive CPU count`);
  const nano = BigInt(Math.round(cpus * 1e9));
  const whole = nano / 1_000_000_000n;
  const fraction = (nano % 1_000_000_000n).toString().padStart(9, "0");
  const nine = `${whole}.${fraction}`;
  // The provider counts zeros in the whole string, not only in the fraction.
  if ((nine.match(/0/g) ?? []).length === 9) return `${whole}.${fraction.slice(0, 1)}`;
  return nine.replace(/0+$/, "");
}

/** A whole number of seconds as Go's time.Duration.String() prints it. */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new Error(`goDuration: ${seconds} is not a whole, non-negative number of seconds`);
  }
  if (seconds === 0) return "0s";
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${rest}s`;
  if (minutes > 0) return `${minutes}m${rest}s`;
  return `${rest}s`;
}
