import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { deployProd, type Json, type ProdStack, unwrap } from "./prod-stack";

// `pulumi up --stack prod` (pgstack:monitoring defaults to true) under mocks.
let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd();
});

const CUSTOM = "kubernetes:monitoring.coreos.com/v1:";
const statefulSet = (name: string) =>
  unwrap(stack.named("kubernetes:apps/v1:StatefulSet", `pgstack-prod-${name}`).inputs) as Json;
const podOf = (set: Json) => set.spec.template.spec;
const exporterOf = (set: Json) => podOf(set).containers.find((c: Json) => c.name === "exporter");

describe("the exporter beside each member", () => {
  it("runs the pinned postgres_exporter with the rendered queries on every member", () => {
    for (const member of ["primary", "replica-1"]) {
      const exporter = exporterOf(statefulSet(member));
      expect(exporter.image).toMatch(
        /^quay\.io\/prometheuscommunity\/postgres-exporter:v[\d.]+@sha256:[0-9a-f]{64}$/,
      );
      expect(exporter.image).toBe(stack.spec.monitoring.images.exporter);
      expect(exporter.args).toEqual([
        "--web.listen-address=:9187",
        "--extend.query-path=/etc/pgstack-exporter/exporter-queries.yaml",
      ]);
      expect(exporter.ports).toEqual([{ name: "metrics", containerPort: 9187, protocol: "TCP" }]);
    }
  });

  it("reads the member's socket read-only as nobody, with no password in its environment", () => {
    const pod = podOf(statefulSet("primary"));
    const exporter = exporterOf(statefulSet("primary"));
    const postgres = pod.containers.find((c: Json) => c.name === "postgres");
    const socket = postgres.volumeMounts.find((m: Json) => m.mountPath === "/var/run/postgresql");
    expect(exporter.volumeMounts).toContainEqual({
      name: socket.name,
      mountPath: "/var/run/postgresql",
      readOnly: true,
    });
    expect(exporter.env).toEqual([
      {
        name: "DATA_SOURCE_NAME",
        value: "postgresql://pgstack_monitor@:5432/postgres?host=%2Fvar%2Frun%2Fpostgresql&sslmode=disable",
      },
    ]);
    expect(JSON.stringify(exporter)).not.toMatch(/password|secretKeyRef/i);
    expect(exporter.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65534,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("has requests equal to limits (Guaranteed QoS stays intact for the pod)", () => {
    const exporter = exporterOf(statefulSet("primary"));
    expect(exporter.resources.requests).toEqual(exporter.resources.limits);
  });

  it("mounts the queries ConfigMap holding exactly the rendered file", () => {
    const pod = podOf(statefulSet("primary"));
    const volume = pod.volumes.find((v: Json) => v.name === "exporter-queries");
    const configMap = stack
      .ofType("kubernetes:core/v1:ConfigMap")
      .map((r) => unwrap(r.inputs) as Json)
      .find((c) => c.metadata.name === volume.configMap.name);
    expect(configMap?.data).toEqual({
      "exporter-queries.yaml": stack.spec.monitoringFiles["exporter-queries.yaml"],
    });
    expect(configMap?.immutable).toBe(true);
  });
});

describe("monitoring objects (pgstack:monitoring)", () => {
  it("a PodMonitor scrapes the members' metrics port, labelled with cluster and member", () => {
    const podMonitor = stack
      .ofType(`${CUSTOM}PodMonitor`)
      .map((r) => unwrap(r.inputs) as Json)
      .find((m) => m.metadata.name === "pgstack-prod-exporters") as Json;
    expect(podMonitor.spec.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "postgresql",
      "app.kubernetes.io/instance": "pgstack-prod",
      "app.kubernetes.io/component": "database",
    });
    const [endpoint] = podMonitor.spec.podMetricsEndpoints;
    expect(endpoint.port).toBe("metrics");
    expect(endpoint.relabelings).toEqual([
      { action: "replace", targetLabel: "pgstack_cluster", replacement: "pgstack-prod" },
      {
        action: "replace",
        sourceLabels: ["__meta_kubernetes_pod_label_pgstack_io_member"],
        targetLabel: "pgstack_member",
      },
    ]);
  });

  it("a PrometheusRule holds exactly the rendered alerts.yaml", () => {
    const [rule] = stack.ofType(`${CUSTOM}PrometheusRule`).map((r) => unwrap(r.inputs) as Json);
    expect(rule.spec.groups).toEqual(parse(stack.spec.monitoringFiles["alerts.yaml"]).groups);
  });

  it("the monitoring namespace reaches the metrics port of database pods, and nothing else", () => {
    const policy = stack
      .ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .map((r) => unwrap(r.inputs) as Json)
      .find((p) => p.metadata.name === "pgstack-prod-metrics");
    expect(policy?.spec).toEqual({
      podSelector: {
        matchLabels: {
          "app.kubernetes.io/name": "postgresql",
          "app.kubernetes.io/instance": "pgstack-prod",
          "app.kubernetes.io/component": "database",
        },
      },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
          ports: [{ protocol: "TCP", port: 9187 }],
        },
      ],
    });
  });

  it("lets kube-prometheus's Prometheus discover the member pods, read-only, and nothing else", () => {
    const [role] = stack
      .ofType("kubernetes:rbac.authorization.k8s.io/v1:Role")
      .map((r) => unwrap(r.inputs) as Json);
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
    const [binding] = stack
      .ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
      .map((r) => unwrap(r.inputs) as Json);
    expect(binding.metadata.namespace).toBe("pgstack-prod");
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "prometheus-k8s", namespace: "monitoring" },
    ]);
  });

  it("runs the Pushgateway the runner pushes to: restricted, results on a protected volume, scraped keeping the pushed labels", () => {
    const deployment = unwrap(
      stack.named("kubernetes:apps/v1:Deployment", "pgstack-prod-pushgateway").inputs,
    ) as Json;
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.image).toMatch(/^prom\/pushgateway:v[\d.]+@sha256:[0-9a-f]{64}$/);
    expect(container.resources.requests).toEqual(container.resources.limits);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65534,
      readOnlyRootFilesystem: true,
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    const claim = stack.named("kubernetes:core/v1:PersistentVolumeClaim", "pgstack-prod-pushgateway");
    expect(claim.protect).toBe(true);
    expect(stack.spec.monitoring.pushgatewayUrl).toBe(
      "http://pgstack-prod-pushgateway.pgstack-prod.svc.cluster.local:9091",
    );
    const monitor = stack
      .ofType(`${CUSTOM}PodMonitor`)
      .map((r) => unwrap(r.inputs) as Json)
      .find((m) => m.metadata.name === "pgstack-prod-pushgateway") as Json;
    expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: "http", interval: "30s", honorLabels: true }]);
  });

  it("admits only the backup runner and the monitoring namespace to the Pushgateway", () => {
    const policies = stack
      .ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .map((r) => unwrap(r.inputs) as Json);
    const gateway = policies.find((p) => p.metadata.name === "pgstack-prod-pushgateway") as Json;
    expect(gateway.spec.ingress).toEqual([
      {
        from: [
          {
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/name": "postgresql",
                "app.kubernetes.io/instance": "pgstack-prod",
                "app.kubernetes.io/component": "backup",
              },
            },
          },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ],
        ports: [{ protocol: "TCP", port: 9091 }],
      },
    ]);
    expect(gateway.spec.egress).toEqual([]);
    const runner = policies.find((p) => p.metadata.name === "pgstack-prod-backup-to-pushgateway") as Json;
    expect(runner.spec.egress).toEqual([
      {
        to: [
          {
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/name": "postgresql",
                "app.kubernetes.io/instance": "pgstack-prod",
                "app.kubernetes.io/component": "monitoring",
              },
            },
          },
        ],
        ports: [{ protocol: "TCP", port: 9091 }],
      },
    ]);
  });
});
