import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { INIT_COMMAND } from "../render/commands";
import { PGBACKREST_TLS_FILES } from "../render/pgbackrest-conf";
import { SECRET_FILES } from "../render/secret-files";
import { switchoverGateCommand } from "../render/switchover-gate";
import type { ClusterSecretValues } from "../secrets/cluster-secrets";
import type { ClusterSpec } from "../spec/cluster-spec";
import { configFile, POSTGRES_UID, POSTGRES_USER, secretFileOwnedBy } from "./config-files";
import { dockerLabels } from "./labels";
import { logOptions, unprivileged } from "./runtime";

/** Label on every member container: the gate passed (a refusal fails it, so no member is replaced). */
export const SWITCHOVER_GATE_LABEL = "pgstack.switchover-gate";

/** 12 hex digits of SHA-256 over the gate's command and script. */
function gateHash(spec: ClusterSpec): string {
  return createHash("sha256")
    .update(JSON.stringify([switchoverGateCommand(spec), spec.files["switchover-gate.sh"]]))
    .digest("hex")
    .slice(0, 12);
}

/** Memory of the gate (psql and a shell), in MB. */
const GATE_MEMORY_MB = 64;

/**
 * The switchover gate (switchover-gate.sh) as a one-shot container on the stack's network, run by
 * `pulumi up` before any member changes: created with `attach`, the provider waits until it exits
 * and records its exit code and output. Every member container carries `gatePassed`, which
 * fails (naming the gate's output) on a non-zero exit: a refused switchover stops `pulumi up`
 * before any member is replaced. Its command names the primary, so a change of pgstack:primary
 * (or of the rendered script) replaces it and runs the gate again.
 */
export function switchoverGate(
  name: string,
  args: {
    readonly spec: ClusterSpec;
    readonly image: pulumi.Input<string>;
    readonly network: docker.Network;
    readonly secrets: ClusterSecretValues;
    readonly caPem: pulumi.Input<string>;
    readonly dependsOn: pulumi.Resource[];
  },
  parent: pulumi.Resource,
): { container: docker.Container; gatePassed: pulumi.Output<string> } {
  const { spec } = args;
  const container = new docker.Container(
    name,
    {
      // Named by what it runs: a change (pgstack:primary, the script) creates a new gate before the
      // old one goes. With a fixed name it would be deleted first, and Pulumi deletes the members
      // whose inputs come from it before that (their replacement would precede the gate's run).
      name: `${spec.name}-switchover-gate-${gateHash(spec)}`,
      image: args.image,
      user: POSTGRES_USER,
      // tini as PID 1 (the spec's init, as for the members), then the script and its target.
      entrypoints: [...INIT_COMMAND],
      command: switchoverGateCommand(spec).slice(INIT_COMMAND.length),
      uploads: [
        configFile(`${spec.layout.configDir}/switchover-gate.sh`, spec.files["switchover-gate.sh"], "0555"),
        secretFileOwnedBy(
          `${spec.layout.secretsDir}/${SECRET_FILES.replicationPassword}`,
          args.secrets.replicationPassword,
          POSTGRES_UID,
        ),
        configFile(`${spec.layout.tlsDir}/${PGBACKREST_TLS_FILES.ca}`, args.caPem),
      ],
      networksAdvanced: [{ name: args.network.name }],
      memory: GATE_MEMORY_MB,
      memorySwap: GATE_MEMORY_MB,
      // Runs once: the provider waits for its exit (attach) and keeps its output (logs).
      attach: true,
      logs: true,
      mustRun: false,
      restart: "no",
      ...unprivileged(),
      ...logOptions(),
      labels: dockerLabels(spec, "switchover-gate"),
    },
    { parent, dependsOn: args.dependsOn, additionalSecretOutputs: ["uploads"] },
  );
  // Unknown in a preview (and absent under mocks): only a real exit code other than 0 refuses.
  const gatePassed = pulumi.all([container.exitCode, container.containerLogs]).apply(([code, logs]) => {
    if (code !== undefined && code !== null && code !== 0) {
      throw new Error(`the switchover gate refused (exit ${code}); no member was changed:\n${logs ?? ""}`);
    }
    return "passed";
  });
  return { container, gatePassed };
}
