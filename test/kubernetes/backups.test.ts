import { beforeAll, describe, expect, it } from "vitest";
import { INIT_COMMAND } from "../../components/render/commands";
import { shellCommand } from "../../components/render/shell-quote";
import { deployProd, type Json, type ProdStack, unwrap } from "./prod-stack";

let stack: ProdStack;
let cronJobs: Record<string, Json>;
beforeAll(async () => {
  stack = await deployProd();
  cronJobs = Object.fromEntries(
    stack
      .ofType("kubernetes:batch/v1:CronJob")
      .filter((c) => /-backup-(full|diff)$/.test(c.name))
      .map((c) => [c.name, unwrap(c.inputs) as Json]),
  );
});

const podOf = (cronJob: Json) => cronJob.spec.jobTemplate.spec.template.spec;

describe("backup CronJobs", () => {
  it("run on the spec's schedules, in UTC, one at a time, skipping a run missed by over an hour", () => {
    expect(Object.keys(cronJobs).sort()).toEqual(["pgstack-prod-backup-diff", "pgstack-prod-backup-full"]);
    expect(cronJobs["pgstack-prod-backup-full"].spec.schedule).toBe(stack.spec.archive.schedules.full);
    expect(cronJobs["pgstack-prod-backup-diff"].spec.schedule).toBe(stack.spec.archive.schedules.diff);
    for (const cronJob of Object.values(cronJobs)) {
      expect(cronJob.spec).toMatchObject({
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
      });
      expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBe(2);
      expect(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    }
  });

  it("back up as the runner (reporting its success and the certificates' expiry), then run verify-repository.sh: spec.commands", () => {
    const { commands } = stack.spec;
    const full = podOf(cronJobs["pgstack-prod-backup-full"]);
    const diff = podOf(cronJobs["pgstack-prod-backup-diff"]);
    const reported = (backup: readonly string[], step: string) => [
      "sh",
      "-c",
      `${shellCommand(backup)} && { sh /etc/pgstack/report-job.sh ${step} ok || true; } && { sh /etc/pgstack/report-certificates.sh || true; }`,
    ];
    // Under tini (PID 1), as every container that runs pgBackRest.
    expect(full.initContainers.map((c: Json) => c.command)).toEqual([
      [...INIT_COMMAND, ...reported(commands.runnerBackupFull, "backup-full")],
    ]);
    expect(diff.initContainers.map((c: Json) => c.command)).toEqual([
      [...INIT_COMMAND, ...reported(commands.runnerBackupDiff, "backup-diff")],
    ]);
    for (const pod of [full, diff]) {
      expect(pod.containers.map((c: Json) => [c.name, c.command])).toEqual([
        ["verify", [...INIT_COMMAND, ...commands.verifyRepository]],
      ]);
      expect(pod.restartPolicy).toBe("Never");
      for (const container of [...pod.initContainers, ...pod.containers]) {
        expect(container.env).toContainEqual({
          name: "PGSTACK_PUSHGATEWAY",
          value: stack.spec.monitoring.pushgatewayUrl,
        });
      }
    }
  });

  it("a failed verify fails the Job at once: it never takes the backup again", () => {
    for (const cronJob of Object.values(cronJobs)) {
      expect(cronJob.spec.jobTemplate.spec.podFailurePolicy).toEqual({
        rules: [
          { action: "FailJob", onExitCodes: { containerName: "verify", operator: "NotIn", values: [0] } },
        ],
      });
    }
  });

  it("mount verify-repository.sh and the report scripts from the scripts' ConfigMap where the commands name them", () => {
    const pod = podOf(cronJobs["pgstack-prod-backup-full"]);
    const projected = pod.volumes
      .filter((v: Json) => v.projected)
      .flatMap((v: Json) => v.projected.sources.flatMap((source: Json) => source.configMap?.items ?? []));
    const paths = (pod.containers[0].volumeMounts as Json[]).map((m) => m.mountPath);
    for (const script of ["verify-repository.sh", "report-job.sh", "report-certificates.sh"]) {
      expect(projected.map((item: Json) => item.key)).toContain(script);
      expect(JSON.stringify({ projected, paths })).toContain(script);
    }
    const scripts = stack.ofType("kubernetes:core/v1:ConfigMap").map((c) => unwrap(c.inputs) as Json);
    const files = scripts.find((c) => c.metadata.name.startsWith("pgstack-prod-files-"));
    expect(files?.data["verify-repository.sh"]).toBe(stack.spec.files["verify-repository.sh"]);
    expect(files?.data["report-job.sh"]).toBe(stack.spec.monitoringFiles["report-job.sh"]);
    expect(files?.data["report-certificates.sh"]).toBe(stack.spec.monitoringFiles["report-certificates.sh"]);
  });

  it("reach the primary only through pgBackRest's TLS server: no exec, no SSH, no API token", () => {
    for (const cronJob of Object.values(cronJobs)) {
      const pod = podOf(cronJob);
      expect(pod.serviceAccountName).toBe("pgstack-prod-backup");
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of [...pod.initContainers, ...pod.containers]) {
        expect(container.command.join(" ")).not.toMatch(/kubectl|ssh/);
      }
    }
    // The only RBAC of the stack lets the monitoring namespace's Prometheus list pods: no role of
    // the stack's own service accounts, and no exec anywhere.
    const bindings = stack
      .ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
      .flatMap((r) => (unwrap(r.inputs) as Json).subjects);
    expect(bindings.filter((subject: Json) => subject.namespace === "pgstack-prod")).toEqual([]);
    const grants = stack
      .ofType("kubernetes:rbac.authorization.k8s.io/v1:Role")
      .flatMap((r) => (unwrap(r.inputs) as Json).rules.flatMap((rule: Json) => rule.resources));
    expect(grants).not.toContain("pods/exec");
  });

  it("mount the runner's config, secret include and client certificate where its commands read them", () => {
    const { layout } = stack.spec;
    const pod = podOf(cronJobs["pgstack-prod-backup-full"]);
    const files = pod.volumes
      // Projected files; the IRSA token volume is checked with the StatefulSets.
      .filter((v: Json) => v.projected && v.name !== "aws-iam-token")
      .flatMap((v: Json) => {
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
    expect(files).toEqual(
      expect.arrayContaining([
        {
          path: `${layout.runner.configDir}/pgbackrest.conf`,
          key: "pgbackrest-runner.conf",
          from: expect.stringMatching(/^pgstack-prod-files-/),
        },
        {
          path: `${layout.runner.includeDir}/pgstack-secrets.conf`,
          key: "pgstack-secrets.conf",
          from: "pgstack-prod-pgbackrest",
        },
        {
          path: `${layout.runner.tlsDir}/pgbackrest-runner.crt`,
          key: "tls.crt",
          from: "pgstack-prod-backup-tls",
        },
        {
          path: `${layout.runner.tlsDir}/pgbackrest-runner.key`,
          key: "tls.key",
          from: "pgstack-prod-backup-tls",
        },
        { path: `${layout.runner.tlsDir}/ca.crt`, key: "ca.crt", from: "pgstack-prod-backup-tls" },
      ]),
    );
    // Each command's --config names the file mounted there.
    expect(stack.spec.commands.runnerBackupFull).toContain(
      `--config=${layout.runner.configDir}/pgbackrest.conf`,
    );
  });

  it("run with the restricted security context and bounded resources", () => {
    for (const cronJob of Object.values(cronJobs)) {
      const pod = podOf(cronJob);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 999,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const container of [...pod.initContainers, ...pod.containers]) {
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(container.resources.requests.memory).toBeDefined();
        expect(container.resources.limits.memory).toBeDefined();
      }
    }
  });
});

describe("stanza Job", () => {
  const stanzaJob = () => {
    const found = stack.ofType("kubernetes:batch/v1:Job").find((job) => job.name === "pgstack-prod-stanza");
    if (!found) throw new Error("no stanza Job");
    return found;
  };

  it("creates the stanza and checks archiving as the runner once the primary is ready", () => {
    const resource = stanzaJob();
    const job = unwrap(resource.inputs) as Json;
    const pod = job.spec.template.spec;
    expect(pod.initContainers[0].command).toEqual([
      ...INIT_COMMAND,
      "pgbackrest",
      "stanza-create",
      ...stack.spec.commands.runnerCheck.slice(2),
    ]);
    expect(pod.containers[0].command).toEqual([...INIT_COMMAND, ...stack.spec.commands.runnerCheck]);
    expect(resource.dependencies).toContain(
      "urn:pulumi:prod::pgstack::pgstack:kubernetes:PostgresCluster$kubernetes:apps/v1:StatefulSet::pgstack-prod-primary",
    );
    for (const cronJob of stack.ofType("kubernetes:batch/v1:CronJob")) {
      expect(cronJob.dependencies).toContain(
        "urn:pulumi:prod::pgstack::pgstack:kubernetes:PostgresCluster$kubernetes:batch/v1:Job::pgstack-prod-stanza",
      );
    }
  });

  it("is replaced by the next up after it failed, instead of blocking every later up", () => {
    const resource = stanzaJob();
    const job = unwrap(resource.inputs) as Json;
    expect(job.metadata.annotations).toEqual({ "pulumi.com/replaceUnready": "true" });
  });
});
