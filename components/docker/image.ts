import * as path from "node:path";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { defaultImage, PGBACKREST_VERSION, POSTGRES_MINOR } from "../spec/image";

/** image/ at the repository root: the Dockerfile of the pgstack image. */
export const IMAGE_CONTEXT = path.resolve(__dirname, "..", "..", "image");

/**
 * MinIO server of the dev stacks, pinned to a release tag (MinIO's tags are immutable
 * `RELEASE.<timestamp>`). The image also ships `mc`, which creates the bucket.
 */
export const MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z";

/** Build arguments of image/Dockerfile for a spec: the pinned versions of spec/image.ts. */
export function imageBuildArgs(spec: ClusterSpec): Record<string, string> {
  return {
    POSTGRES_MINOR: POSTGRES_MINOR[spec.postgres.version],
    PGBACKREST_VERSION,
  };
}

/** True when the spec's image is the one image/Dockerfile builds (not a user-supplied reference). */
export function buildsImageLocally(spec: ClusterSpec): boolean {
  return spec.postgres.image === defaultImage(spec.postgres.version);
}

/**
 * The PostgreSQL + pgBackRest image of the members and the backup runner (one image, so the
 * runner's pgBackRest is exactly the members' version, as pgBackRest requires across hosts).
 * The default image is built on the local Docker host from image/ and never pushed; an image
 * given in `pgstack:image` is pulled instead. Returns the image ID: a rebuild with new content
 * replaces the containers.
 */
export function postgresImage(
  resourceName: string,
  spec: ClusterSpec,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  if (buildsImageLocally(spec)) {
    const image = new docker.Image(
      resourceName,
      {
        imageName: spec.postgres.image,
        skipPush: true,
        build: {
          context: IMAGE_CONTEXT,
          dockerfile: path.join(IMAGE_CONTEXT, "Dockerfile"),
          args: imageBuildArgs(spec),
        },
      },
      { parent },
    );
    // With skipPush the provider reports the local image ID here (sha256:...).
    return image.repoDigest;
  }
  return new docker.RemoteImage(resourceName, { name: spec.postgres.image, keepLocally: true }, { parent })
    .imageId;
}

/** The pinned MinIO image, pulled once and kept (a destroy does not remove it from the host). */
export function objectStoreImage(resourceName: string, parent: pulumi.Resource): pulumi.Output<string> {
  return new docker.RemoteImage(resourceName, { name: MINIO_IMAGE, keepLocally: true }, { parent }).imageId;
}
