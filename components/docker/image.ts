import * as path from "node:path";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { defaultImage, PGBACKREST_SHA256, PGBACKREST_VERSION, POSTGRES_MINOR } from "../spec/image";

/** image/ at the repository root: the Dockerfile of the pgstack image. */
export const IMAGE_CONTEXT = path.resolve(__dirname, "..", "..", "image");

/**
 * SeaweedFS, the S3 server of the dev stacks (components/docker/object-store.ts says why this one),
 * pinned by the digest of its multi-arch image index. Release 4.48 (2026-09-28, tag commit
 * 530be3e37337488ecc34d58441e0bc476e121c93). Checked with the search tool on 2026-12-01: the
 * same tag and index digest are pinned by several independent projects that resolved it from
 * Docker Hub's registry (`docker-content-digest` of /v2/chrislusf/seaweedfs/manifests/4.48).
 */
export const OBJECT_STORE_IMAGE =
  "chrislusf/seaweedfs:4.48@sha256:4e61d15fd35994cb1e43e1e553dff106794841fd9a99ade2fc8c8bfce4d7872d";

/** Build arguments of image/Dockerfile for a spec: the pinned versions of spec/image.ts. */
export function imageBuildArgs(spec: ClusterSpec): Record<string, string> {
  return {
    POSTGRES_MINOR: POSTGRES_MINOR[spec.postgres.version],
    PGBACKREST_VERSION,
    PGBACKREST_SHA256,
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
          // BuildKit sets TARGETARCH, which picks the supercronic binary and its checksum.
          builderVersion: "BuilderBuildKit",
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

/** The pinned S3 server image, pulled once and kept (a destroy does not remove it from the host). */
export function objectStoreImage(resourceName: string, parent: pulumi.Resource): pulumi.Output<string> {
  return new docker.RemoteImage(resourceName, { name: OBJECT_STORE_IMAGE, keepLocally: true }, { parent })
    .imageId;
}
