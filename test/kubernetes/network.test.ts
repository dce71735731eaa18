import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, unwrap } from "./prod-stack";

let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd();
});

const inputsOf = (type: string) => stack.ofType(type).map((resource) => unwrap(resource.inputs) as Json);
const DATABASE = {
  "app.kubernetes.io/name": "postgresql",
  "app.kubernetes.io/instance": "pgstack-prod",
  "app.kubernetes.io/component": "database",
};
const BACKUP = { ...DATABASE, "app.kubernetes.io/component": "backup" };

describe("namespace", () => {
  it("is spec.network.namespace, enforces the restricted Pod Security Standard, and is protected", () => {
    const [namespace] = inputsOf("kubernetes:core/v1:Namespace");
    expect(namespace.metadata.name).toBe(stack.spec.network.namespace);
    expect(namespace.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const [resource] = stack.ofType("kubernetes:core/v1:Namespace");
    expect([resource.protect, resource.retainOnDelete]).toEqual([true, true]);
  });

  it("every namespaced object of the stack lives in it and carries the recommended labels", () => {
    for (const resource of stack.resources.filter((r) => r.type.startsWith("kubernetes:"))) {
      const metadata = (unwrap(resource.inputs) as Json).metadata;
      if (resource.type !== "kubernetes:core/v1:Namespace")
        expect(metadata.namespace, resource.name).toBe("pgstack-prod");
      expect(metadata.labels, `${resource.type} ${resource.name}`).toMatchObject({
        "app.kubernetes.io/name": "postgresql",
        "app.kubernetes.io/instance": "pgstack-prod",
        "app.kubernetes.io/part-of": "pgstack",
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/version": "15",
      });
    }
  });
});

describe("services", () => {
  it("are ClusterIP or headless only: never LoadBalancer, NodePort or external IPs", () => {
    const services = inputsOf("kubernetes:core/v1:Service");
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      expect(service.spec.type, service.metadata.name).toBe("ClusterIP");
      expect(service.spec.externalIPs).toBeUndefined();
    }
  });

  it("name each member as spec.layout.hosts does, which the rendered configs connect to", () => {
    const names = new Set(inputsOf("kubernetes:core/v1:Service").map((s) => s.metadata.name));
    for (const host of Object.values(stack.spec.layout.hosts)) {
      const [service, namespace, svc] = host.split(".");
      expect(names.has(service), host).toBe(true);
      expect([namespace, svc]).toEqual(["pgstack-prod", "svc"]);
    }
  });

  it("route read-write to the primary, read-only to replicas, and members to themselves", () => {
    const byName = Object.fromEntries(
      inputsOf("kubernetes:core/v1:Service").map((s) => [s.metadata.name, s.spec]),
    );
    expect(byName["pgstack-prod-rw"].selector).toEqual({ ...DATABASE, "pgstack.io/role": "primary" });
    expect(byName["pgstack-prod-ro"].selector).toEqual({ ...DATABASE, "pgstack.io/role": "replica" });
    expect(byName["pgstack-prod-primary"].selector).toEqual({ ...DATABASE, "pgstack.io/member": "primary" });
    expect(byName["pgstack-prod-primary"].ports.map((p: Json) => p.port)).toEqual([5432, 8432]);
    // Only the primary runs the pgBackRest TLS server.
    expect(byName["pgstack-prod-replica-1"].ports.map((p: Json) => p.port)).toEqual([5432]);
    expect(byName["pgstack-prod-primary-headless"].clusterIP).toBe("None");
  });

  it("the connection output points at the read-write Service on the spec's port", async () => {
    const connection = await new Promise((resolve) => stack.cluster.connection.apply(resolve));
    expect(connection).toEqual({
      host: "pgstack-prod-rw.pgstack-prod.svc.cluster.local",
      port: 5432,
      database: "app",
      user: "app",
    });
  });
});

describe("network policies", () => {
  const byName = () =>
    Object.fromEntries(
      inputsOf("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => [p.metadata.name, p.spec]),
    );

  it("deny all traffic in the namespace by default", () => {
    expect(byName()["pgstack-prod-default-deny"]).toEqual({
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
    });
  });

  it("admit PostgreSQL only from the client namespaces, the members and the runner (its certificate report); the TLS server only from the runner", () => {
    const database = byName()["pgstack-prod-database"];
    expect(database.podSelector.matchLabels).toEqual(DATABASE);
    expect(database.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: {
              matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["app"] }],
            },
          },
          { podSelector: { matchLabels: DATABASE } },
        ],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
      { from: [{ podSelector: { matchLabels: BACKUP } }], ports: [{ protocol: "TCP", port: 8432 }] },
      { from: [{ podSelector: { matchLabels: BACKUP } }], ports: [{ protocol: "TCP", port: 5432 }] },
    ]);
  });

  it("let the runner reach only the primary's TLS server, the members' PostgreSQL (certificate report), DNS and S3 (443 outside the pod network)", () => {
    const backup = byName()["pgstack-prod-backup"];
    expect(backup.podSelector.matchLabels).toEqual(BACKUP);
    expect(backup.ingress).toEqual([]);
    const [primary, members, dns, s3] = backup.egress;
    expect(primary).toEqual({
      to: [{ podSelector: { matchLabels: { ...DATABASE, "pgstack.io/member": "primary" } } }],
      ports: [{ protocol: "TCP", port: 8432 }],
    });
    // report-certificates.sh: a TLS handshake with each member's PostgreSQL, no login.
    expect(members).toEqual({
      to: [{ podSelector: { matchLabels: DATABASE } }],
      ports: [{ protocol: "TCP", port: 5432 }],
    });
    expect(dns.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(s3).toEqual({
      to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/16"] } }],
      ports: [{ protocol: "TCP", port: 443 }],
    });
    expect(backup.egress).toHaveLength(4);
  });

  it("let members reach each other's PostgreSQL (replication), DNS and S3, nothing else", () => {
    const egress = byName()["pgstack-prod-database"].egress;
    expect(egress[0]).toEqual({
      to: [{ podSelector: { matchLabels: DATABASE } }],
      ports: [{ protocol: "TCP", port: 5432 }],
    });
    expect(egress).toHaveLength(3);
  });

  it("select every pod the stack runs", () => {
    const selectors = inputsOf("kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .filter((p) => p.metadata.name !== "pgstack-prod-default-deny")
      .map((p) => p.spec.podSelector.matchLabels);
    const pods = [
      ...inputsOf("kubernetes:apps/v1:StatefulSet").map((s) => s.spec.template.metadata.labels),
      ...inputsOf("kubernetes:batch/v1:CronJob").map((c) => c.spec.jobTemplate.spec.template.metadata.labels),
      ...inputsOf("kubernetes:batch/v1:Job").map((j) => j.spec.template.metadata.labels),
    ];
    // Two members, the switchover gate and stanza Jobs, two backup CronJobs, the restore drill's CronJob.
    expect(pods.length).toBe(7);
    for (const labels of pods) {
      expect(
        selectors.some((selector) => Object.entries(selector).every(([key, value]) => labels[key] === value)),
        JSON.stringify(labels),
      ).toBe(true);
    }
  });
});
