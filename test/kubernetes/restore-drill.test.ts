import { beforeAll, describe, expect, it } from "vitest";
import { INIT_COMMAND } from "../../components/render/commands";
import { deployProd, type Json, type ProdStack, unwrap } from "./prod-stack";

let stack: ProdStack;
let cronJob: Json;
let pod: Json;
beforeAll(async () => {
  stack = await deployProd();
  cronJob = unwrap(stack.named("kubernetes:batch/v1:CronJob", "pgstack-prod-restore-drill").inputs) as Json;
  pod = cronJob.spec.jobTemplate.spec.template.spec;
});

/** Each projected file of the pod: the path its container sees, its key and its source object. */
function projectedFiles(): { path: string; key: string; from: string }[] {
  return (pod.volumes as Json[])
    .filter((v) => v.projected && v.name !== "aws-iam-token")
    .flatMap((v) => {
      const mount = pod.containers[0].volumeMounts.find((m: Json) => m.name === v.name);
      return v.projected.sources.map((s: Json) => {
        const source = s.configMap ?? s.secret;
        return {
          path: `${mount.mountPath}/${source.items[0].path}`,
          key: source.items[0].key,
          from: source.name,
        };
      });
    });
}

describe("restore drill CronJob", () => {
  it("runs restore-drill.sh under tini on the drill schedule, in UTC, one at a time, never retried", () => {
    expect(cronJob.spec).toMatchObject({
      schedule: stack.spec.archive.drillSchedule,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
    });
    expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.initContainers).toBeUndefined();
    expect(pod.containers.map((c: Json) => c.command)).toEqual([
      [...INIT_COMMAND, ...stack.spec.commands.restoreDrill],
    ]);
    expect(pod.containers[0].env).toContainEqual({
      name: "PGSTACK_PUSHGATEWAY",
      value: stack.spec.monitoring.pushgatewayUrl,
    });
  });

  it("restores into a claim of its own, sized for the database on the stack's StorageClass, and mounts no member volume", () => {
    const { layout, resources } = stack.spec;
    const scratch = (pod.volumes as Json[]).find((v) => v.name === "scratch");
    const claim = scratch?.ephemeral?.volumeClaimTemplate?.spec;
    expect(claim).toEqual({
      accessModes: ["ReadWriteOnce"],
      storageClassName: resources.storageClass,
      resources: { requests: { storage: "200Gi" } },
    });
    expect(resources.storageClass).toBeDefined();
    expect(resources.storageBytes).toBe(200 * 1024 ** 3);
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: "scratch",
      mountPath: layout.drill.scratchDir,
    });
    expect((pod.volumes as Json[]).filter((v) => v.persistentVolumeClaim || v.hostPath)).toEqual([]);
    const mountPaths = (pod.containers[0].volumeMounts as Json[]).map((m) => m.mountPath as string);
    for (const path of mountPaths) {
      expect(path === layout.volumeDir || path.startsWith(`${layout.volumeDir}/`), path).toBe(false);
    }
  });

  it("runs as its own service account with the restricted security context and requests equal to limits", () => {
    expect(pod.serviceAccountName).toBe("pgstack-prod-restore-drill");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const container = pod.containers[0];
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.resources.requests).toEqual(container.resources.limits);
    expect(container.resources.limits.cpu).toBe(String(stack.spec.resources.drill.cpus));
    // IRSA to the drill's own read-only role, never the runner's.
    expect(container.env).toContainEqual({
      name: "AWS_ROLE_ARN",
      value: "arn:aws:iam::123456789012:role/pgstack-prod-archive-access-drill-role",
    });
  });

  it("mounts its own pgBackRest config and include Secret, its script and report-job.sh; nothing of the runner's", () => {
    const { layout } = stack.spec;
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    expect(projectedFiles().sort(byPath)).toEqual(
      [
        {
          path: `${layout.drill.configDir}/pgbackrest.conf`,
          key: "pgbackrest-drill.conf",
          from: expect.stringMatching(/^pgstack-prod-files-/),
        },
        {
          path: `${layout.drill.includeDir}/pgstack-secrets.conf`,
          key: "pgstack-secrets.conf",
          from: "pgstack-prod-pgbackrest-drill",
        },
        {
          path: `${layout.configDir}/restore-drill.sh`,
          key: "restore-drill.sh",
          from: expect.stringMatching(/^pgstack-prod-files-/),
        },
        {
          path: `${layout.configDir}/report-job.sh`,
          key: "report-job.sh",
          from: expect.stringMatching(/^pgstack-prod-files-/),
        },
      ].sort(byPath),
    );
  });

  it("is reached by nothing and reaches only DNS and S3: no member", () => {
    const policy = unwrap(
      stack.named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "pgstack-prod-restore-drill").inputs,
    ) as Json;
    expect(policy.spec.podSelector.matchLabels["app.kubernetes.io/component"]).toBe("restore-drill");
    expect(policy.spec.ingress).toEqual([]);
    const peers = (policy.spec.egress as Json[]).flatMap((rule) => rule.to as Json[]);
    expect(peers.filter((peer) => peer.podSelector && !peer.namespaceSelector)).toEqual([]);
    expect(
      (policy.spec.egress as Json[]).flatMap((rule) => (rule.ports as Json[]).map((p) => p.port)).sort(),
    ).toEqual([443, 53, 53].sort());
  });
});
