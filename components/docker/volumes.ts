import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { memberResourceName } from "../spec/layout";
import { dockerLabels, MEMBER_LABEL } from "./labels";

/**
 * Docker name of a member's data volume. It starts with `spec.name` (`pgstack-<stack>`), so two
 * stacks on one Docker host can never mount each other's data.
 */
export function memberVolumeName(spec: ClusterSpec, member: MemberSpec): string {
  return `${memberResourceName(spec.name, member)}-data`;
}

/** Docker name of the S3 store's data volume (the pgBackRest repository of a dev stack). */
export function objectStoreVolumeName(spec: ClusterSpec): string {
  return `${spec.name}-s3-data`;
}

/**
 * Options of everything that holds data (volumes): with `protect`, `pulumi destroy` stops at
 * them, and `retainOnDelete` keeps the Docker volume even if a person unprotects and deletes the
 * resource from the stack; the data then has to be removed with `docker volume rm` by hand.
 */
export function dataResourceOptions(
  spec: ClusterSpec,
  parent: pulumi.Resource,
): pulumi.CustomResourceOptions {
  return { parent, protect: spec.protect, retainOnDelete: spec.protect };
}

/**
 * One named volume per member, mounted at `layout.volumeDir`. PGDATA, the pgBackRest spool and
 * its log are sub-directories of it (see the layout), so one volume holds everything a member
 * must not lose.
 */
export function memberVolume(
  resourceName: string,
  spec: ClusterSpec,
  member: MemberSpec,
  parent: pulumi.Resource,
): docker.Volume {
  return new docker.Volume(
    resourceName,
    {
      name: memberVolumeName(spec, member),
      driver: "local",
      // A volume cannot change: any new label replaces it, data and all. So its role label is the
      // role its member was created with (its name), not the current one, which a switchover moves.
      labels: dockerLabels(spec, member.name === "primary" ? "primary" : "replica", {
        [MEMBER_LABEL]: member.name,
        "pgstack.content": "pgdata",
      }),
    },
    dataResourceOptions(spec, parent),
  );
}

/** The S3 store's volume: the stack's backups and archived WAL. Protected like the members' data. */
export function objectStoreVolume(
  resourceName: string,
  spec: ClusterSpec,
  parent: pulumi.Resource,
): docker.Volume {
  return new docker.Volume(
    resourceName,
    {
      name: objectStoreVolumeName(spec),
      driver: "local",
      labels: dockerLabels(spec, "object-store", { "pgstack.content": "pgbackrest-repository" }),
    },
    dataResourceOptions(spec, parent),
  );
}
