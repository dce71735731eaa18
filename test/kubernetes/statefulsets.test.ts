import { beforeAll, describe, expect, it } from "vitest";
import { INIT_COMMAND, memberStartArguments } from "../../components/render/commands";
import { deployProd, type Json, type ProdStack, unwrap } from "./prod-stack";

// The members of `pulumi up --stack prod` (Pulumi.prod.yaml: 8Gi, 4 CPUs, 200Gi gp3, one replica).
let stack: ProdStack;
let primary: Json;
let replica: Json;
beforeAll(async () => {
  stack = await deployProd();
  primary = unwrap(stack.named("kubernetes:apps/v1:StatefulSet", "pgstack-prod-primary").inputs) as Json;
  replica = unwrap(stack.named("kubernetes:apps/v1:StatefulSet", "pgstack-prod-replica-1").inputs) as Json;
});

const podOf = (statefulSet: Json) => statefulSet.spec.template.spec;
const containerOf = (statefulSet: Json, name: string) => {
  const pod = podOf(statefulSet);
  const found = [...pod.containers, ...(pod.initContainers ?? [])].find((c: Json) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};
const mountsOf = (statefulSet: Json, container: string) =>
  Object.fromEntries(containerOf(statefulSet, container).volumeMounts.map((m: Json) => [m.mountPath, m]));

describe("member StatefulSets", () => {
  it("one StatefulSet of one pod per member, in the stack's namespace", () => {
    expect(
      stack
        .ofType("kubernetes:apps/v1:StatefulSet")
        .map((s) => s.name)
        .sort(),
    ).toEqual(["pgstack-prod-primary", "pgstack-prod-replica-1"]);
    for (const statefulSet of [primary, replica]) {
      expect(statefulSet.spec.replicas).toBe(1);
      expect(statefulSet.metadata.namespace).toBe("pgstack-prod");
    }
  });

  it("keep their volumes when deleted or scaled down, sized and classed from the spec", () => {
    for (const statefulSet of [primary, replica]) {
      expect(statefulSet.spec.persistentVolumeClaimRetentionPolicy).toEqual({
        whenDeleted: "Retain",
        whenScaled: "Retain",
      });
      const [claim] = statefulSet.spec.volumeClaimTemplates;
      expect(claim.spec).toEqual({
        accessModes: ["ReadWriteOnce"],
        storageClassName: "gp3",
        resources: { requests: { storage: "200Gi" } },
      });
      expect(mountsOf(statefulSet, "postgres")["/var/lib/postgresql/data"].name).toBe(claim.metadata.name);
    }
  });

  it("are protected: destroy refuses, and a replacement stops for a person", () => {
    for (const name of ["pgstack-prod-primary", "pgstack-prod-replica-1"]) {
      expect(stack.named("kubernetes:apps/v1:StatefulSet", name).protect).toBe(true);
    }
  });

  it("size PostgreSQL from spec.resources: memory request and limit, CPUs", () => {
    const { resources } = stack.spec;
    expect(resources.memoryLimitBytes).toBe(8 * 1024 ** 3);
    for (const statefulSet of [primary, replica]) {
      expect(containerOf(statefulSet, "postgres").resources).toEqual({
        requests: { cpu: "4", memory: "8Gi" },
        limits: { cpu: "4", memory: "8Gi" },
      });
    }
  });

  it("request exactly what they limit in every container, sidecar and init containers included (Guaranteed QoS)", () => {
    const pods = [
      podOf(primary),
      podOf(replica),
      ...stack
        .ofType("kubernetes:batch/v1:Job")
        .map((job) => (unwrap(job.inputs) as Json).spec.template.spec),
      ...stack
        .ofType("kubernetes:batch/v1:CronJob")
        .map((cron) => (unwrap(cron.inputs) as Json).spec.jobTemplate.spec.template.spec),
    ];
    // Two members, the switchover gate and stanza Jobs, two backup CronJobs and the restore drill's.
    expect(pods).toHaveLength(7);
    for (const pod of pods) {
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.resources.requests, container.name).toEqual(container.resources.limits);
        expect(Object.keys(container.resources.limits).sort(), container.name).toEqual(["cpu", "memory"]);
      }
    }
    // The TLS server runs process-max (half of 4 CPUs) pgBackRest processes.
    expect(containerOf(primary, "pgbackrest-server").resources.limits).toEqual({ cpu: "2", memory: "1Gi" });
  });

  it("let the preStop fast shutdown wait for its checkpoint through nearly all of the grace period", () => {
    const postgres = containerOf(primary, "postgres");
    const argv: string[] = postgres.lifecycle.preStop.exec.command;
    expect(argv).toEqual(stack.spec.commands.fastShutdown);
    const timeout = Number(argv[argv.indexOf("--timeout") + 1]);
    const grace = podOf(primary).terminationGracePeriodSeconds;
    // pg_ctl's default, 60 s, gave up while PostgreSQL was still checkpointing.
    expect(timeout).toBeGreaterThan(60);
    expect(grace - timeout).toBeGreaterThanOrEqual(5);
    expect(grace - timeout).toBeLessThanOrEqual(30);
  });

  it("mount every password into the primary only; a replica's PostgreSQL sees the replication password", () => {
    const secretItems = (statefulSet: Json, container: string) => {
      const volumes = new Set(containerOf(statefulSet, container).volumeMounts.map((m: Json) => m.name));
      return podOf(statefulSet)
        .volumes.filter((v: Json) => volumes.has(v.name) && v.projected)
        .flatMap((v: Json) => v.projected.sources)
        .filter((source: Json) => source.secret?.name === "pgstack-prod-passwords")
        .flatMap((source: Json) => source.secret.items.map((item: Json) => item.key));
    };
    expect(secretItems(primary, "postgres").sort()).toEqual([
      "app-password",
      "replication-password",
      "superuser-password",
    ]);
    // start-member.sh re-runs the bootstrap, which needs the replication password, and only that.
    expect(secretItems(replica, "postgres")).toEqual(["replication-password"]);
    expect(secretItems(replica, "bootstrap-replica")).toEqual(["replication-password"]);
  });

  it("give /dev/shm a memory emptyDir of spec.resources.shmBytes", () => {
    const shm = podOf(primary).volumes.find((v: Json) => v.name === "shm");
    expect(shm.emptyDir.medium).toBe("Memory");
    const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(shm.emptyDir.sizeLimit) ?? [];
    expect(Number(amount) * (unit === "Gi" ? 1024 ** 3 : 1024 ** 2)).toBe(stack.spec.resources.shmBytes);
    expect(mountsOf(primary, "postgres")["/dev/shm"].name).toBe("shm");
  });

  it("probe with spec.commands.healthcheck; the startup budget covers 30 minutes of crash recovery", () => {
    const postgres = containerOf(primary, "postgres");
    for (const probe of ["startupProbe", "readinessProbe"]) {
      expect(postgres[probe].exec.command, probe).toEqual(stack.spec.commands.healthcheck);
    }
    // Liveness runs the same check but accepts "answering, rejecting connections" (recovery).
    expect(postgres.livenessProbe.exec.command).toEqual([
      "sh",
      "-c",
      '"$@"; [ "$?" -le 1 ]',
      "liveness",
      ...stack.spec.commands.healthcheck,
    ]);
    expect(
      postgres.startupProbe.failureThreshold * postgres.startupProbe.periodSeconds,
    ).toBeGreaterThanOrEqual(1800);
    expect(
      postgres.livenessProbe.failureThreshold * postgres.livenessProbe.periodSeconds,
    ).toBeGreaterThanOrEqual(60);
  });

  it("make pulumi up wait through the startup budget and a replica's first clone, not Pulumi's 10 minutes", () => {
    const startupMinutes =
      (containerOf(primary, "postgres").startupProbe.failureThreshold *
        containerOf(primary, "postgres").startupProbe.periodSeconds) /
      60;
    for (const name of ["pgstack-prod-primary", "pgstack-prod-replica-1"]) {
      const timeouts = stack.named("kubernetes:apps/v1:StatefulSet", name).customTimeouts;
      for (const wait of [timeouts?.create, timeouts?.update]) {
        expect(wait, name).toMatch(/^\d+m$/);
        expect(Number.parseInt(wait ?? "0", 10), name).toBeGreaterThan(startupMinutes);
      }
    }
  });

  it("run tini as PID 1 and start-member.sh; a replica clones in an init container first", () => {
    const { commands } = stack.spec;
    expect(podOf(primary).initContainers).toEqual([]);
    expect(podOf(replica).initContainers.map((c: Json) => c.command)).toEqual([
      [...commands.replicaBootstrap, "replica_1"],
    ]);
    expect(containerOf(primary, "postgres").command).toEqual(INIT_COMMAND);
    expect(containerOf(primary, "postgres").args).toEqual(memberStartArguments(stack.spec, "primary"));
    expect(containerOf(replica, "postgres").command).toEqual(INIT_COMMAND);
    expect(containerOf(replica, "postgres").args).toEqual(memberStartArguments(stack.spec, "replica-1"));
    for (const statefulSet of [primary, replica]) {
      // Every container of the pgstack image (the exporter runs its own image and entrypoint).
      for (const container of podOf(statefulSet).containers.filter(
        (c: Json) => c.image === stack.spec.postgres.image,
      )) {
        expect(container.command.slice(0, 2), container.name).toEqual(INIT_COMMAND);
      }
    }
  });

  it("no secret and no initdb setting in the postgres container's environment: IRSA's role and token path only", () => {
    const env = Object.fromEntries(containerOf(primary, "postgres").env.map((e: Json) => [e.name, e.value]));
    expect(env).toEqual({
      AWS_ROLE_ARN: expect.any(String),
      AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    });
  });

  it("run the pgBackRest TLS server beside the primary only, on the data volume and socket", () => {
    const server = containerOf(primary, "pgbackrest-server");
    expect(server.command).toEqual([...INIT_COMMAND, ...stack.spec.commands.pgbackrestServer]);
    expect(server.ports).toEqual([{ name: "pgbackrest", containerPort: 8432, protocol: "TCP" }]);
    const mounts = mountsOf(primary, "pgbackrest-server");
    expect(mounts["/var/lib/postgresql/data"].name).toBe("data");
    expect(mounts["/var/run/postgresql"].name).toBe("socket");
    expect(podOf(replica).containers.map((c: Json) => c.name)).toEqual([
      "postgres",
      "settings-reloader",
      "exporter",
    ]);
  });

  it("meet the restricted profile: non-root postgres, no escalation, no capabilities, read-only root", () => {
    for (const statefulSet of [primary, replica]) {
      const pod = podOf(statefulSet);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 999,
        runAsGroup: 999,
        fsGroup: 999,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const container of [...pod.containers, ...pod.initContainers]) {
        expect(container.securityContext, container.name).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
      }
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe("pgstack-prod-database");
      expect(pod.hostNetwork).toBeUndefined();
    }
    const mounts = mountsOf(primary, "postgres");
    expect(
      podOf(primary).volumes.find((v: Json) => v.name === mounts["/var/run/postgresql"].name).emptyDir,
    ).toBeDefined();
    expect(podOf(primary).volumes.find((v: Json) => v.name === mounts["/tmp"].name).emptyDir).toBeDefined();
  });

  it("never place two members on one node", () => {
    for (const statefulSet of [primary, replica]) {
      const [term] =
        podOf(statefulSet).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      expect(term.topologyKey).toBe("kubernetes.io/hostname");
      expect(term.labelSelector.matchLabels).toEqual({
        "app.kubernetes.io/name": "postgresql",
        "app.kubernetes.io/instance": "pgstack-prod",
        "app.kubernetes.io/component": "database",
      });
    }
  });

  it("mount config and secrets read-only at the layout's paths, under the rendered names", () => {
    const { layout } = stack.spec;
    const pod = podOf(primary);
    const mounts = mountsOf(primary, "postgres");
    const projected = (path: string) =>
      pod.volumes.find((v: Json) => v.name === mounts[path].name).projected.sources;
    expect(mounts[layout.configDir].readOnly).toBe(true);
    const configItems = projected(layout.configDir).flatMap((s: Json) =>
      (s.configMap ?? s.secret).items.map((i: Json) => i.path),
    );
    expect(configItems).toEqual(
      expect.arrayContaining([
        "postgresql.conf",
        "pg_hba.conf",
        "pg_ident.conf",
        "tls/server.crt",
        "tls/server.key",
        "tls/ca.crt",
      ]),
    );
    const secretItems = projected(layout.secretsDir).map((s: Json) => s.secret.items[0].key);
    expect(secretItems.sort()).toEqual(["app-password", "replication-password", "superuser-password"]);
    const pgbackrestItems = projected(layout.pgbackrestConfigDir).map(
      (s: Json) => (s.configMap ?? s.secret).items[0].path,
    );
    expect(pgbackrestItems.sort()).toEqual(["conf.d/pgstack-secrets.conf", "pgbackrest.conf"]);
    for (const mount of Object.values(mounts) as Json[]) {
      if (mount.name.includes("files")) expect(mount.readOnly, mount.mountPath).toBe(true);
    }
  });

  it("every member mounts hot-standby-order.sh beside start-member.sh, which orders their restarts with it", () => {
    const { layout } = stack.spec;
    for (const statefulSet of [primary, replica]) {
      const mounts = mountsOf(statefulSet, "postgres");
      const sources = podOf(statefulSet).volumes.find((v: Json) => v.name === mounts[layout.configDir].name)
        .projected.sources;
      const items = sources.flatMap((s: Json) => (s.configMap ?? s.secret).items.map((i: Json) => i.path));
      expect(items).toEqual(expect.arrayContaining(["start-member.sh", "hot-standby-order.sh"]));
    }
    expect(stack.spec.files["start-member.sh"]).toContain(
      `sh "$config_dir/hot-standby-order.sh" "$role" "\${slot:-}"`,
    );
  });

  it("members roll together after the switchover gate Job, and every member waits for the NetworkPolicies", () => {
    const urn = (type: string, name: string) =>
      `urn:pulumi:prod::pgstack::pgstack:kubernetes:PostgresCluster$${type}::${name}`;
    // Pulumi would update a dependency first and wait for it: the primary rolled before its
    // replicas is the order a raised max_connections must not take. hot-standby-order.sh orders them.
    const replicaDependencies = stack.named(
      "kubernetes:apps/v1:StatefulSet",
      "pgstack-prod-replica-1",
    ).dependencies;
    expect(replicaDependencies).not.toContain(urn("kubernetes:apps/v1:StatefulSet", "pgstack-prod-primary"));
    for (const name of ["pgstack-prod-primary", "pgstack-prod-replica-1"]) {
      const dependencies = stack.named("kubernetes:apps/v1:StatefulSet", name).dependencies;
      expect(dependencies).toContain(urn("kubernetes:batch/v1:Job", "pgstack-prod-switchover-gate"));
      expect(dependencies).toContain(
        urn("kubernetes:networking.k8s.io/v1:NetworkPolicy", "pgstack-prod-default-deny"),
      );
    }
    const gate = unwrap(
      stack.named("kubernetes:batch/v1:Job", "pgstack-prod-switchover-gate").inputs,
    ) as Json;
    const container = gate.spec.template.spec.containers[0];
    expect(container.command).toEqual(["tini", "--", "sh", "/etc/pgstack/switchover-gate.sh", "primary"]);
    // A refusal is an answer: no retry, and `up` stops there.
    expect(gate.spec.backoffLimit).toBe(0);
  });
});

describe("disruption budgets", () => {
  it("allow no voluntary eviction of the primary and one replica at a time", () => {
    const budgets = stack
      .ofType("kubernetes:policy/v1:PodDisruptionBudget")
      .map((b) => unwrap(b.inputs) as Json);
    const byName = Object.fromEntries(budgets.map((b) => [b.metadata.name, b.spec]));
    expect(byName["pgstack-prod-primary"].maxUnavailable).toBe(0);
    expect(byName["pgstack-prod-primary"].selector.matchLabels["pgstack.io/role"]).toBe("primary");
    expect(byName["pgstack-prod-replica"].maxUnavailable).toBe(1);
  });

  it("never hold a drain for a pod that is not ready (a crash-looping primary serves nobody)", () => {
    for (const budget of stack.ofType("kubernetes:policy/v1:PodDisruptionBudget")) {
      expect((unwrap(budget.inputs) as Json).spec.unhealthyPodEvictionPolicy, budget.name).toBe(
        "AlwaysAllow",
      );
    }
  });
});

describe("S3 access with IRSA (s3Access=irsa)", () => {
  const roleOf = () => stack.ofType("aws:iam/role:Role");

  it("projects an STS-audience token and names the role in the members' PostgreSQL containers", () => {
    // The members' and runner's role, and the restore drill's own (read-only).
    expect(roleOf()).toHaveLength(2);
    for (const statefulSet of [primary, replica]) {
      const env = Object.fromEntries(
        containerOf(statefulSet, "postgres").env.map((e: Json) => [e.name, e.value]),
      );
      expect(env.AWS_WEB_IDENTITY_TOKEN_FILE).toBe("/var/run/secrets/eks.amazonaws.com/serviceaccount/token");
      expect(env.AWS_ROLE_ARN).toMatch(/^arn:aws:iam::|role/);
      expect(
        mountsOf(statefulSet, "postgres")["/var/run/secrets/eks.amazonaws.com/serviceaccount"].readOnly,
      ).toBe(true);
      const volume = podOf(statefulSet).volumes.find((v: Json) => v.name === "aws-iam-token");
      expect(volume.projected.sources[0].serviceAccountToken).toMatchObject({
        audience: "sts.amazonaws.com",
      });
      // No Kubernetes API token: the projected STS token is the pod's only credential.
      expect(podOf(statefulSet).automountServiceAccountToken).toBe(false);
    }
  });

  it("gives the backup runner and the restore drill a web identity, and the TLS sidecar none", () => {
    for (const cronJob of stack.ofType("kubernetes:batch/v1:CronJob")) {
      const pod = (unwrap(cronJob.inputs) as Json).spec.jobTemplate.spec.template.spec;
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.env.map((e: Json) => e.name)).toContain("AWS_WEB_IDENTITY_TOKEN_FILE");
      }
    }
    expect(containerOf(primary, "pgbackrest-server").env).toBeUndefined();
  });
});
