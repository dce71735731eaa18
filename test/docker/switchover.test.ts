import { beforeAll, describe, expect, it } from "vitest";
import {
  CONTAINER,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  ofType,
  VOLUME,
} from "./mock-deployment";

/** The dev stack after `pulumi config set pgstack:primary replica-1`: what `pulumi up` would change. */
let switched: Deployment;
beforeAll(async () => {
  switched = await deployDockerCluster("dev", { "pgstack:primary": "replica-1" });
});

const label = (resource: { inputs: Record<string, unknown> }, key: string) =>
  (resource.inputs.labels as { label: string; value: string }[]).find((entry) => entry.label === key)?.value;

describe("a switchover of the dev stack", () => {
  it("leaves the data volumes as they were created: a changed volume is a new, empty one", () => {
    // Each volume keeps the role label it was created with (before the switchover: the member
    // named primary was the primary), so the switchover changes no input of a volume.
    const volumes = Object.fromEntries(
      ofType(switched, VOLUME)
        .filter((volume) => label(volume, "pgstack.content") === "pgdata")
        .map((volume) => [volume.inputs.name, label(volume, "pgstack.role")]),
    );
    expect(volumes).toEqual({
      "pgstack-dev-primary-data": "primary",
      "pgstack-dev-replica-1-data": "replica",
    });
  });

  it("runs the gate for the new primary before the members, which are replaced together", () => {
    const gate = ofType(switched, CONTAINER).find((container) =>
      String(container.inputs.name).startsWith("pgstack-dev-switchover-gate-"),
    );
    expect(gate?.inputs.command).toEqual(["sh", "/etc/pgstack/switchover-gate.sh", "replica-1"]);
    const oldPrimary = containerNamed(switched, "pgstack-dev-primary");
    const newPrimary = containerNamed(switched, "pgstack-dev-replica-1");
    for (const member of [oldPrimary, newPrimary]) expect(member.dependencies).toContain(gate?.urn);
    expect(oldPrimary.dependencies).not.toContain(newPrimary.urn);
    expect(newPrimary.dependencies).not.toContain(oldPrimary.urn);
    expect(label(newPrimary, "pgstack.role")).toBe("primary");
    expect(label(oldPrimary, "pgstack.role")).toBe("replica");
  });
});
