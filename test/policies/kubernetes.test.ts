import { describe, expect, it } from "vitest";
import {
  k8sCronJobSafety,
  k8sGuaranteedQos,
  k8sImageDigest,
  k8sNetworkPolicy,
  k8sNoPlaintextSecrets,
  k8sPostgresNotExposed,
  k8sProbes,
  k8sRequestsAndLimits,
  k8sRestrictedPodSecurity,
  k8sVolumeRetention,
} from "../../policies/rules/kubernetes";
import { K8S } from "../../policies/rules/pod-templates";
import { resource, verdictOf, violations } from "./harness";

const NAMESPACE = "pgstack-prod";
const probe = { exec: { command: ["pg_isready", "-h", "/var/run/postgresql"] } };
const restricted = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function postgresContainer(overrides: Record<string, unknown> = {}) {
  return {
    name: "postgres",
    image: "pgstack/postgres:15.15-pgbackrest2.57.0",
    resources: { requests: { cpu: "4", memory: "8Gi" }, limits: { memory: "8Gi" } },
    startupProbe: probe,
    readinessProbe: probe,
    livenessProbe: probe,
    securityContext: restricted,
    env: [{ name: "PGPASSFILE", value: "/run/secrets/pgstack/pgpass" }],
    ...overrides,
  };
}

function statefulSet(
  container = postgresContainer(),
  specOverrides: Record<string, unknown> = {},
  podSpec: Record<string, unknown> = {},
) {
  return resource(K8S.statefulSet, "pgstack-prod-primary", {
    metadata: { name: "pgstack-prod-primary", namespace: NAMESPACE },
    spec: {
      serviceName: "pgstack-prod-primary",
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      volumeClaimTemplates: [{ metadata: { name: "data" } }],
      template: {
        metadata: {
          labels: { "app.kubernetes.io/instance": "pgstack-prod", "pgstack.io/member": "primary" },
        },
        spec: { securityContext: { runAsNonRoot: true, fsGroup: 999 }, containers: [container], ...podSpec },
      },
      ...specOverrides,
    },
  });
}

function cronJob(specOverrides: Record<string, unknown> = {}) {
  return resource(K8S.cronJob, "pgstack-prod-backup-full", {
    metadata: { name: "pgstack-prod-backup-full", namespace: NAMESPACE },
    spec: {
      schedule: "0 1 * * 0",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
      jobTemplate: {
        spec: {
          template: {
            metadata: { labels: { "pgstack.io/role": "backup" } },
            spec: { containers: [postgresContainer({ name: "backup" })] },
          },
        },
      },
      ...specOverrides,
    },
  });
}

describe("k8s-requests-and-limits", () => {
  it("passes a container with CPU and memory requests and a memory limit", async () => {
    expect(await violations(k8sRequestsAndLimits, [statefulSet(), cronJob()])).toEqual([]);
  });
  it("fails a container missing them, listing what to set", async () => {
    const [message] = await violations(
      k8sRequestsAndLimits,
      statefulSet(postgresContainer({ resources: { requests: { cpu: "1" } } })),
    );
    expect(message).toMatch(/container postgres lacks resources.requests.memory, resources.limits.memory/);
  });
  it("checks init containers and CronJob pods too", async () => {
    const init = statefulSet(
      postgresContainer(),
      {},
      { initContainers: [{ name: "check-data-dir", resources: {} }] },
    );
    expect(await violations(k8sRequestsAndLimits, init)).toHaveLength(1);
    const job = cronJob({
      jobTemplate: { spec: { template: { spec: { containers: [{ name: "backup" }] } } } },
    });
    expect(await violations(k8sRequestsAndLimits, job)).toHaveLength(1);
  });
});

describe("k8s-guaranteed-qos", () => {
  const exact = { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "2000m", memory: "1024Mi" } };
  it("passes containers whose requests equal their limits, however written", async () => {
    const pod = statefulSet(
      postgresContainer({ resources: exact }),
      {},
      { initContainers: [{ name: "check-data-dir", resources: exact }] },
    );
    expect(await violations(k8sGuaranteedQos, pod)).toEqual([]);
  });
  it("fails a sidecar that requests less than its limits, naming both", async () => {
    const sidecar = {
      name: "pgbackrest-server",
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "2", memory: "1Gi" } },
    };
    const [message] = await violations(
      k8sGuaranteedQos,
      statefulSet(
        postgresContainer({ resources: exact }),
        {},
        {
          containers: [postgresContainer({ resources: exact }), sidecar],
        },
      ),
    );
    expect(message).toMatch(
      /container pgbackrest-server requests differ from its limits \(request\/limit: cpu 100m\/2, memory 256Mi\/1Gi\), so the pod is not Guaranteed/,
    );
  });
  it("fails a missing CPU limit (Burstable) on Job pods too", async () => {
    expect(await violations(k8sGuaranteedQos, cronJob())).toEqual([
      expect.stringMatching(/container backup .* cpu 4\/unset/),
    ]);
  });
});

describe("k8s-image-digest", () => {
  const pinned = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/pgstack-prod/postgres@sha256:${"0f".repeat(32)}`;
  it("passes images pinned by digest, with or without a tag", async () => {
    expect(await violations(k8sImageDigest, statefulSet(postgresContainer({ image: pinned })))).toEqual([]);
    const tagged = pinned.replace("@", ":15.15-pgbackrest2.57.0@");
    expect(await violations(k8sImageDigest, statefulSet(postgresContainer({ image: tagged })))).toEqual([]);
  });
  it("fails a tag, naming the container and the fix", async () => {
    expect(await violations(k8sImageDigest, statefulSet())).toEqual([
      expect.stringMatching(
        /container postgres runs image "pgstack\/postgres:15.15-pgbackrest2.57.0", not pinned by digest: set pgstack:image/,
      ),
    ]);
    expect(await violations(k8sImageDigest, cronJob())).toHaveLength(1);
  });
});

describe("k8s-probes", () => {
  it("passes a container with startup, readiness and liveness probes", async () => {
    expect(await violations(k8sProbes, statefulSet())).toEqual([]);
  });
  it("fails a container without them, naming each", async () => {
    const [message] = await violations(
      k8sProbes,
      statefulSet(postgresContainer({ startupProbe: undefined, livenessProbe: undefined })),
    );
    expect(message).toMatch(/container postgres has no startupProbe, livenessProbe: add them/);
  });
  it("does not apply to CronJobs, whose pods run to completion", async () => {
    expect((await verdictOf(k8sProbes, cronJob())).status).toBe("not-applicable");
  });
});

describe("k8s-restricted-pod-security", () => {
  it("passes a restricted pod and a namespace enforcing restricted", async () => {
    const namespace = resource(K8S.namespace, NAMESPACE, {
      metadata: { name: NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    });
    expect(await violations(k8sRestrictedPodSecurity, [statefulSet(), namespace])).toEqual([]);
  });
  it("fails root, privilege escalation, kept capabilities and no seccomp profile", async () => {
    const loose = postgresContainer({
      securityContext: { runAsUser: 0, capabilities: { add: ["SYS_ADMIN"] } },
    });
    const [message] = await violations(
      k8sRestrictedPodSecurity,
      statefulSet(loose, {}, { securityContext: {} }),
    );
    expect(message).toMatch(/runAsNonRoot is not true/);
    expect(message).toMatch(/runAsUser is 0/);
    expect(message).toMatch(/allowPrivilegeEscalation is not false/);
    expect(message).toMatch(/capabilities.drop lacks ALL/);
    expect(message).toMatch(/adds capabilities SYS_ADMIN/);
    expect(message).toMatch(/seccompProfile.type is unset/);
  });
  it("fails host namespaces and hostPath volumes", async () => {
    const host = statefulSet(
      postgresContainer(),
      {},
      { hostNetwork: true, volumes: [{ name: "host", hostPath: { path: "/" } }] },
    );
    const [message] = await violations(k8sRestrictedPodSecurity, host);
    expect(message).toMatch(/hostNetwork is true; volume host is a hostPath/);
  });
  it("fails a namespace that does not enforce restricted", async () => {
    const namespace = resource(K8S.namespace, NAMESPACE, {
      metadata: { name: NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "baseline" } },
    });
    expect((await violations(k8sRestrictedPodSecurity, namespace))[0]).toMatch(
      /label it pod-security.kubernetes.io\/enforce=restricted/,
    );
  });
});

describe("k8s-volume-retention", () => {
  it("passes a StatefulSet retaining its claims and a Retain StorageClass", async () => {
    const storageClass = resource(K8S.storageClass, "gp3-retain", { reclaimPolicy: "Retain" });
    expect(await violations(k8sVolumeRetention, [statefulSet(), storageClass])).toEqual([]);
  });
  it("fails unset or Delete retention, naming each field", async () => {
    const deleting = statefulSet(postgresContainer(), {
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete" },
    });
    const messages = await violations(k8sVolumeRetention, deleting);
    expect(messages).toEqual([
      expect.stringMatching(/whenDeleted is Delete: set it to Retain/),
      expect.stringMatching(/whenScaled is unset: set it to Retain/),
    ]);
  });
  it("fails a StorageClass that deletes disks", async () => {
    const storageClass = resource(K8S.storageClass, "gp3", {});
    expect((await violations(k8sVolumeRetention, storageClass))[0]).toMatch(
      /reclaims with Delete \(the default\): set reclaimPolicy: Retain/,
    );
  });
  it("does not apply to a StatefulSet without claims", async () => {
    expect(
      (await verdictOf(k8sVolumeRetention, statefulSet(postgresContainer(), { volumeClaimTemplates: [] })))
        .status,
    ).toBe("not-applicable");
  });
});

describe("k8s-postgres-not-exposed", () => {
  const service = (spec: Record<string, unknown>) =>
    resource(K8S.service, "pgstack-prod-primary", {
      metadata: { name: "pgstack-prod-primary", namespace: NAMESPACE },
      spec: { ports: [{ port: 5432 }], ...spec },
    });
  it("passes ClusterIP and headless services", async () => {
    expect(
      await violations(k8sPostgresNotExposed, [
        service({}),
        service({ type: "ClusterIP", clusterIP: "None" }),
      ]),
    ).toEqual([]);
  });
  it("fails LoadBalancer, NodePort and external IPs", async () => {
    expect((await violations(k8sPostgresNotExposed, service({ type: "LoadBalancer" })))[0]).toMatch(
      /is LoadBalancer, which exposes PostgreSQL outside the cluster: use ClusterIP/,
    );
    expect(await violations(k8sPostgresNotExposed, service({ type: "NodePort" }))).toHaveLength(1);
    expect(await violations(k8sPostgresNotExposed, service({ externalIPs: ["203.0.113.7"] }))).toHaveLength(
      1,
    );
  });
});

describe("k8s-network-policy", () => {
  const networkPolicy = (spec: Record<string, unknown>, namespace = NAMESPACE) =>
    resource(K8S.networkPolicy, "pgstack-prod-postgres", {
      metadata: { name: "pgstack-prod-postgres", namespace },
      spec,
    });
  const admitsApp = {
    podSelector: { matchLabels: { "app.kubernetes.io/instance": "pgstack-prod" } },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "app" } } }],
        ports: [{ port: 5432 }],
      },
    ],
  };
  it("passes when a NetworkPolicy in the namespace selects every pod and names its sources", async () => {
    const backupSelector = networkPolicy({ podSelector: {}, policyTypes: ["Ingress"], ingress: [] });
    expect(
      await violations(k8sNetworkPolicy, [
        statefulSet(),
        cronJob(),
        networkPolicy(admitsApp),
        backupSelector,
      ]),
    ).toEqual([]);
  });
  it("fails pods no NetworkPolicy selects, and a policy in another namespace does not count", async () => {
    const messages = await violations(k8sNetworkPolicy, [
      statefulSet(),
      networkPolicy({ podSelector: {} }, "default"),
    ]);
    expect(messages).toEqual([
      expect.stringMatching(
        /StatefulSet pgstack-prod-primary in namespace pgstack-prod is selected by no NetworkPolicy/,
      ),
    ]);
  });
  it("fails an ingress rule without from (admits everyone)", async () => {
    const open = networkPolicy({ podSelector: {}, ingress: [{ ports: [{ port: 5432 }] }] });
    expect((await violations(k8sNetworkPolicy, [statefulSet(), open]))[0]).toMatch(
      /ingress rule without "from", which admits every source/,
    );
  });
  it("does not apply to a stack without Kubernetes workloads", async () => {
    expect((await verdictOf(k8sNetworkPolicy, [])).status).toBe("not-applicable");
  });
});

describe("k8s-cronjob-safety", () => {
  it("passes Forbid with a starting deadline", async () => {
    expect(await violations(k8sCronJobSafety, cronJob())).toEqual([]);
  });
  it("fails overlapping runs and no deadline", async () => {
    const messages = await violations(
      k8sCronJobSafety,
      cronJob({ concurrencyPolicy: undefined, startingDeadlineSeconds: undefined }),
    );
    expect(messages).toEqual([
      expect.stringMatching(/concurrencyPolicy Allow \(the default\): set it to Forbid/),
      expect.stringMatching(/no startingDeadlineSeconds: set one/),
    ]);
  });
});

describe("k8s-no-plaintext-secrets", () => {
  it("passes secretKeyRef and file paths", async () => {
    const fromSecret = postgresContainer({
      env: [
        { name: "PGPASSFILE", value: "/run/secrets/pgstack/pgpass" },
        {
          name: "POSTGRES_PASSWORD",
          valueFrom: { secretKeyRef: { name: "pgstack-prod", key: "superuser" } },
        },
        { name: "PGBACKREST_REPO1_S3_KEY_TYPE", value: "web-id" },
      ],
    });
    expect(await violations(k8sNoPlaintextSecrets, statefulSet(fromSecret))).toEqual([]);
  });
  it("fails a literal password in env", async () => {
    const literal = postgresContainer({ env: [{ name: "POSTGRES_PASSWORD", value: "hunter2" }] });
    expect((await violations(k8sNoPlaintextSecrets, statefulSet(literal)))[0]).toMatch(
      /env POSTGRES_PASSWORD its name says it holds a secret .* use valueFrom.secretKeyRef/,
    );
  });
  it("fails a ConfigMap carrying the repository cipher pass", async () => {
    const configMap = resource(K8S.configMap, "pgstack-prod-files", {
      metadata: { name: "pgstack-prod-files", namespace: NAMESPACE },
      data: { "pgbackrest.conf": "[global]\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=s3cret\n" },
    });
    expect((await violations(k8sNoPlaintextSecrets, configMap))[0]).toMatch(
      /key pgbackrest.conf sets repo1-cipher-pass inline: move that setting into a Secret/,
    );
  });
});
