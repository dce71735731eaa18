import { describe, expect, it } from "vitest";
import { renderPgHbaConf } from "../../components/render/pg-hba-conf";
import { fixtureModel } from "./fixtures";

/** The rule lines (not comments), split into fields. */
function rules(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => line.trim().split(/\s+/));
}

describe("renderPgHbaConf", () => {
  const model = fixtureModel();
  const text = renderPgHbaConf(model);
  const lines = rules(text);

  it("never trusts anyone", () => {
    expect(lines.every((fields) => !fields.includes("trust"))).toBe(true);
    expect(rules(renderPgHbaConf(fixtureModel({ tls: false }))).some((f) => f.includes("trust"))).toBe(false);
  });

  it("lets the superuser in only over the local socket, by peer, before any other rule", () => {
    expect(lines[0]).toEqual(["local", "all", "postgres", "peer"]);
    expect(lines.filter((fields) => fields[2] === "postgres")).toHaveLength(1);
    expect(lines[2]).toEqual(["local", "all", "all", "scram-sha-256"]);
  });

  it("lets the monitoring role in only over the local socket, as the exporter's OS user, to one database", () => {
    expect(lines[1]).toEqual(["local", "postgres", "pgstack_monitor", "peer", "map=pgstack_monitoring"]);
    expect(lines.filter((fields) => fields.includes("pgstack_monitor"))).toHaveLength(1);
  });

  it("allows loopback clients with a password", () => {
    expect(lines).toContainEqual(["host", "all", "all", "127.0.0.1/32", "scram-sha-256"]);
    expect(lines).toContainEqual(["host", "all", "all", "::1/128", "scram-sha-256"]);
  });

  it("allows replication only to the replication role from the cluster network", () => {
    const replication = lines.filter((fields) => fields[1] === "replication");
    expect(replication).toEqual([["hostssl", "replication", "replicator", "samenet", "scram-sha-256"]]);
    const prod = rules(
      renderPgHbaConf(fixtureModel({ network: { ...model.network, clusterCidr: "10.0.0.0/16" } })),
    );
    expect(prod.filter((fields) => fields[1] === "replication")).toEqual([
      ["hostssl", "replication", "replicator", "10.0.0.0/16", "scram-sha-256"],
    ]);
  });

  it("admits the application role to its database from each allowed CIDR only, with TLS", () => {
    const remote = lines.filter((fields) => fields[0] === "hostssl" && fields[2] === "app");
    expect(remote).toEqual([
      ["hostssl", "app", "app", "10.1.0.0/16", "scram-sha-256"],
      ["hostssl", "app", "app", "192.168.10.0/24", "scram-sha-256"],
    ]);
  });

  it("admits the replication role to the postgres database from the cluster network only (pg_rewind's source)", () => {
    expect(lines.filter((fields) => fields[2] === "replicator" && fields[1] !== "replication")).toEqual([
      ["hostssl", "postgres", "replicator", "samenet", "scram-sha-256"],
    ]);
  });

  it("uses host instead of hostssl when the stack turns TLS off", () => {
    const plain = rules(renderPgHbaConf(fixtureModel({ tls: false })));
    expect(plain.some((fields) => fields[0] === "hostssl")).toBe(false);
    expect(plain).toContainEqual(["host", "app", "app", "10.1.0.0/16", "scram-sha-256"]);
  });

  it("has no remote application rule when no CIDR is allowed", () => {
    const closed = rules(renderPgHbaConf(fixtureModel({ network: { ...model.network, allowedCidrs: [] } })));
    expect(closed.filter((fields) => fields[2] === "app")).toEqual([]);
  });

  it("admits the application role from wherever the engine delivers a published port's clients, and nothing more", () => {
    // Docker Desktop delivers host connections from 192.168.65.x, rootless Docker from
    // RootlessKit's address: samenet matches neither.
    const published = rules(
      renderPgHbaConf(fixtureModel({ network: { ...model.network, allowedCidrs: [], publishPort: 15432 } })),
    );
    const app = published.filter((fields) => fields[2] === "app");
    expect(app).toEqual([["hostssl", "app", "app", "all", "scram-sha-256"]]);
    // Only the application role on its database; replication and the superuser keep their rules.
    expect(published.filter((fields) => fields[1] === "replication")).toEqual([
      ["hostssl", "replication", "replicator", "samenet", "scram-sha-256"],
    ]);
    expect(published.findIndex((fields) => fields[2] === "app")).toBeLessThan(published.length - 1);
    expect(published.at(-1)).toEqual(["host", "all", "all", "all", "reject"]);
  });

  it("ends with an explicit reject", () => {
    expect(lines.at(-1)).toEqual(["host", "all", "all", "all", "reject"]);
  });

  it("explains every rule on the line above it", () => {
    const all = text.split("\n");
    all.forEach((line, index) => {
      if (line !== "" && !line.startsWith("#")) expect(all[index - 1], line).toMatch(/^# \S/);
    });
  });

  it("matches the snapshot", () => {
    expect(text).toMatchSnapshot();
  });
});
