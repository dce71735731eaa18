import { archiveLocation } from "./cluster-view";
import { K8S } from "./pod-templates";
import { carriesStackName, list, physicalName, record, stackOfUrn, stackPolicy, text } from "./policy-kit";

/** Kubernetes kinds that live outside any namespace. */
const CLUSTER_SCOPED = [
  K8S.namespace,
  K8S.storageClass,
  K8S.pv,
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
  "kubernetes:scheduling.k8s.io/v1:PriorityClass",
];

/**
 * dev and prod never share a namespace, a repository prefix or a data volume. Each stack sees
 * only its own resources, so the cross-stack property is enforced through naming: every such
 * name must carry the stack's own name as a token (the spec names everything pgstack-<stack>
 * and /pgstack/<stack>), and two stacks' names then differ by construction.
 * Docker volumes are checked by docker-volume-stack-name.
 */
export const stackIsolation = stackPolicy({
  name: "stack-isolation",
  description:
    "Namespaces, the pgBackRest repository prefix and Kubernetes data volumes carry the stack name, so no two stacks (dev, prod) can ever share one.",
  severity: "critical",
  remediationSteps:
    "Leave pgstack:namespace and pgstack:archivePrefix unset (they default to pgstack-<stack> and /pgstack/<stack>), or include the stack name in them.",
  validate: (args, report) => {
    if (args.resources.length === 0) args.notApplicable("empty stack");
    const stack = stackOfUrn(args.resources[0].urn);
    const location = archiveLocation(args.resources);
    if (location && !carriesStackName(location.prefix, stack)) {
      report(
        `the pgBackRest repository path ${location.prefix} in bucket ${location.bucket} does not carry the stack name "${stack}": another stack could archive into the same prefix; set pgstack:archivePrefix to /pgstack/${stack}.`,
      );
    }
    for (const resource of args.resources.filter(
      (r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm"),
    )) {
      const metadata = record(resource.props.metadata) ?? {};
      if (resource.type === K8S.namespace) {
        const name = physicalName(resource);
        if (!carriesStackName(name, stack)) {
          report(
            `namespace ${name} does not carry the stack name "${stack}": leave pgstack:namespace unset (pgstack-${stack}) or include "${stack}" in it.`,
            resource.urn,
          );
        }
        continue;
      }
      if (CLUSTER_SCOPED.includes(resource.type)) continue;
      const namespace = text(metadata.namespace);
      if (namespace === undefined) {
        report(
          `${resource.type.split(":").pop()} ${physicalName(resource)} sets no metadata.namespace, so it lands in the provider's default namespace: put it in the stack's namespace.`,
          resource.urn,
        );
      } else if (!carriesStackName(namespace, stack)) {
        report(
          `${resource.type.split(":").pop()} ${physicalName(resource)} is in namespace ${namespace}, which does not carry the stack name "${stack}": use the stack's namespace.`,
          resource.urn,
        );
      }
      const holdsVolumes =
        resource.type === K8S.pvc ||
        (resource.type === K8S.statefulSet &&
          list(record(resource.props.spec)?.volumeClaimTemplates).length > 0);
      if (holdsVolumes && !carriesStackName(physicalName(resource), stack)) {
        report(
          `${resource.type.split(":").pop()} ${physicalName(resource)} names data volumes without the stack name "${stack}": name it from the cluster name (pgstack-${stack}-...).`,
          resource.urn,
        );
      }
    }
  },
});
