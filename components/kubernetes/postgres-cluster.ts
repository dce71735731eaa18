import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ArchiveAccess } from "../aws/archive-access";
import { ArchiveBucket } from "../aws/archive-bucket";
import type { PostgresClusterArgs, PostgresClusterOutputs } from "../platform/postgres-cluster-args";
import { RUNNER_CLIENT_CN } from "../render/pgbackrest-conf";
import type { S3Credentials } from "../secrets/pgbackrest-include";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { backupCronJobs } from "./backup-cronjob";
import { renderedFilesConfigMap, settingsConfigMap } from "./config-maps";
import { exporterQueriesConfigMap, exporterSidecar } from "./exporter";
import { stackMonitoring } from "./monitoring";
import { objectNames, serviceHost } from "./names";
import { stackNamespace } from "./namespace";
import { stackNetworkPolicies } from "./network-policy";
import { stackDisruptionBudgets } from "./pod-disruption-budget";
import { restoreDrillCronJob } from "./restore-drill-cronjob";
import { stackSecrets } from "./secrets";
import { stackServiceAccounts } from "./service-accounts";
import { stackServices } from "./services";
import { stanzaJob } from "./stanza-job";
import { memberStatefulSet } from "./statefulset";
import { switchoverGateJob } from "./switchover-job";
import { stackCertificates } from "./tls";
import { webIdentity } from "./web-identity";

/** Names of the stack's Secrets, for operators (`kubectl get secret -n <namespace> <name>`). */
export interface KubernetesSecretNames {
  readonly passwords: string;
  readonly pgbackrest: string;
  readonly memberTls: Record<string, string>;
  readonly backupTls: string;
}

/**
 * A ClusterSpec on an existing Kubernetes cluster, with its pgBackRest repository in AWS S3.
 * Every object is declared here explicitly (no chart, no manifest bundle), so previews show each
 * one and the policy pack checks each one. Sizes, commands, file contents, members, hosts and
 * ports all come from the spec: this maps, it decides nothing the spec decided.
 */
export class KubernetesPostgresCluster extends pulumi.ComponentResource implements PostgresClusterOutputs {
  /** The spec this cluster was built from (plain data), for stack outputs and policies. */
  readonly spec: pulumi.Output<ClusterSpec>;
  readonly connection: PostgresClusterOutputs["connection"];
  readonly appPassword: pulumi.Output<string>;
  readonly replicaHosts: pulumi.Output<string[]>;
  readonly repository: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;
  /** In-cluster DNS name of the read-only Service (replicas); undefined without replicas. */
  readonly readOnlyHost: pulumi.Output<string | undefined>;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly kmsKeyArn: pulumi.Output<string>;
  /** web-id: the IAM role the service accounts assume. */
  readonly archiveRoleArn: pulumi.Output<string | undefined>;
  readonly secretNames: pulumi.Output<KubernetesSecretNames>;
  /** The stack CA (PEM) that signs the members' certificates: what clients verify them with. */
  readonly caCertificate: pulumi.Output<string>;
  /** ConfigMap in the stack's namespace holding the same CA as `ca.crt`. */
  readonly caConfigMap: pulumi.Output<string>;

  constructor(name: string, args: PostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:kubernetes:PostgresCluster", name, {}, opts);
    const { spec, secrets } = args;
    assertKubernetesSpec(spec);
    const names = objectNames(spec);
    const child: pulumi.CustomResourceOptions = { parent: this };
    const primary = spec.members.find((member) => member.role === "primary") as MemberSpec;
    const replicas = spec.members.filter((member) => member.role === "replica");

    const namespaceResource = stackNamespace(spec, child);
    const namespace = namespaceResource.metadata.name;

    // The S3 side: the bucket, and access for exactly the two service accounts.
    const tags = { "pgstack:stack": spec.stack, "pgstack:cluster": spec.name, "managed-by": "pulumi" };
    const bucket = new ArchiveBucket(
      `${name}-archive`,
      { archive: spec.archive, protect: spec.protect, tags },
      child,
    );
    const givenKeys: S3Credentials | undefined =
      secrets.archiveAccessKeyId && secrets.archiveSecretAccessKey
        ? { accessKeyId: secrets.archiveAccessKeyId, secretAccessKey: secrets.archiveSecretAccessKey }
        : undefined;
    // Static keys given in config (pgstack:archiveAccessKeyId/-SecretAccessKey) are used as they
    // are; otherwise "shared" creates an IAM user scoped like the IRSA role.
    const access =
      spec.archive.keyType === "web-id" || !givenKeys
        ? new ArchiveAccess(
            `${name}-archive-access`,
            {
              archive: spec.archive,
              bucketArn: bucket.bucketArn,
              kmsKeyArn: bucket.kmsKeyArn,
              namespace: spec.network.namespace,
              serviceAccounts: [names.databaseServiceAccount, names.backupServiceAccount],
              drillServiceAccount: names.drillServiceAccount,
              tags,
            },
            child,
          )
        : undefined;
    const s3Keys: S3Credentials | undefined =
      spec.archive.keyType !== "shared"
        ? undefined
        : (givenKeys ?? {
            accessKeyId: access?.accessKeyId as pulumi.Output<string>,
            secretAccessKey: access?.secretAccessKey as pulumi.Output<string>,
          });

    // The restore drill's own keys: read-only, created with the stack's; keys given in config are
    // the stack's own, and the drill can only use them (no IAM user is created to narrow them).
    const drillS3Keys: S3Credentials | undefined =
      spec.archive.keyType !== "shared"
        ? undefined
        : access?.drillAccessKeyId !== undefined && access.drillSecretAccessKey !== undefined
          ? { accessKeyId: access.drillAccessKeyId, secretAccessKey: access.drillSecretAccessKey }
          : s3Keys;
    const accounts = stackServiceAccounts(spec, namespace, access?.roleArn, access?.drillRoleArn, child);
    const identity =
      spec.archive.keyType === "web-id" && access?.roleArn !== undefined
        ? webIdentity(access.roleArn)
        : undefined;
    const drillIdentity =
      spec.archive.keyType === "web-id" && access?.drillRoleArn !== undefined
        ? webIdentity(access.drillRoleArn)
        : undefined;
    const files = renderedFilesConfigMap(spec, namespace, child);
    const settings = settingsConfigMap(spec, namespace, child);
    const stackSecretObjects = stackSecrets(spec, namespace, secrets, s3Keys, drillS3Keys, child);
    const certificates = stackCertificates(spec, namespace, RUNNER_CLIENT_CN, child);
    const services = stackServices(spec, namespace, child);
    const networkPolicies = stackNetworkPolicies(spec, namespace, child);
    stackDisruptionBudgets(spec, namespace, child);
    const exporterQueries = exporterQueriesConfigMap(spec, namespace, child);
    if (spec.monitoring.enabled) stackMonitoring(spec, namespace, child);

    const member = (memberSpec: MemberSpec, dependsOn: pulumi.Resource[]) =>
      memberStatefulSet(
        spec,
        memberSpec,
        {
          namespace,
          serviceAccountName: accounts.database.metadata.name,
          headlessServiceName: (services.headless.get(memberSpec.name) as k8s.core.v1.Service).metadata.name,
          sources: {
            files: files.metadata.name,
            settings: settings.metadata.name,
            passwords: stackSecretObjects.passwords.metadata.name,
            pgbackrest: stackSecretObjects.pgbackrest.metadata.name,
            tls: (certificates.memberSecrets.get(memberSpec.name) as k8s.core.v1.Secret).metadata.name,
          },
          webIdentity: identity,
          certificateHash: certificates.memberCertificateHashes.get(memberSpec.name) as pulumi.Output<string>,
          exporter: (socketVolume) => exporterSidecar(spec, exporterQueries.metadata.name, socketVolume),
        },
        // With spec.protect, `pulumi destroy` refuses, and a replacement (a changed volume
        // template) stops for a person to decide instead of recreating the member.
        { ...child, dependsOn, protect: spec.protect },
      );
    // Policies first: the pods' traffic is allowed before they start, denied otherwise. Before any
    // member changes: the switchover gate (switchover-job.ts), which orders a switchover or refuses it.
    const gate = switchoverGateJob(
      spec,
      {
        namespace,
        serviceAccountName: accounts.database.metadata.name,
        sources: {
          files: files.metadata.name,
          settings: settings.metadata.name,
          passwords: stackSecretObjects.passwords.metadata.name,
          pgbackrest: stackSecretObjects.pgbackrest.metadata.name,
          tls: (certificates.memberSecrets.get(primary.name) as k8s.core.v1.Secret).metadata.name,
        },
      },
      { ...child, dependsOn: networkPolicies },
    );
    const primaryStatefulSet = member(primary, [gate, ...networkPolicies]);
    // Not after the primary: Pulumi would roll it first, and a raised max_connections needs the
    // replicas restarted first, a switchover the old primary stopped while the target restarts.
    // The members roll together and order themselves (hot-standby-order.sh, start-member.sh); a
    // new replica's clone waits for the primary (bootstrap-replica.sh, retried by the kubelet),
    // within the readiness wait of `pulumi up`.
    for (const replica of replicas) member(replica, [gate, ...networkPolicies]);

    const runner = {
      namespace,
      serviceAccountName: accounts.backup.metadata.name,
      sources: {
        files: files.metadata.name,
        settings: settings.metadata.name,
        passwords: stackSecretObjects.passwords.metadata.name,
        pgbackrest: stackSecretObjects.pgbackrest.metadata.name,
        tls: certificates.runnerSecret.metadata.name,
      },
      webIdentity: identity,
    };
    const stanza = stanzaJob(spec, runner, { ...child, dependsOn: [primaryStatefulSet, ...networkPolicies] });
    backupCronJobs(spec, runner, { ...child, dependsOn: [stanza] });
    restoreDrillCronJob(
      spec,
      {
        namespace,
        serviceAccountName: accounts.drill.metadata.name,
        sources: {
          files: files.metadata.name,
          drillPgbackrest: stackSecretObjects.drillPgbackrest.metadata.name,
        },
        webIdentity: drillIdentity,
      },
      { ...child, dependsOn: [stanza] },
    );

    this.spec = pulumi.output(spec);
    this.namespace = namespace;
    this.connection = pulumi.output({
      host: serviceHost(spec, names.readWrite),
      port: spec.layout.port,
      database: spec.postgres.database,
      user: spec.postgres.appUser,
    });
    this.appPassword = pulumi.secret(secrets.appPassword);
    this.replicaHosts = pulumi.output(replicas.map((replica) => spec.layout.hosts[replica.name]));
    this.readOnlyHost = pulumi.output(services.readOnly ? serviceHost(spec, names.readOnly) : undefined);
    this.repository = pulumi.output(`s3://${spec.archive.bucket}${spec.archive.path}`);
    this.bucketName = bucket.bucketName;
    this.bucketArn = bucket.bucketArn;
    this.kmsKeyArn = bucket.kmsKeyArn;
    this.archiveRoleArn = access?.roleArn ?? pulumi.output(undefined);
    this.secretNames = pulumi.output({
      passwords: names.passwords,
      pgbackrest: names.pgbackrestSecrets,
      memberTls: Object.fromEntries(spec.members.map((m) => [m.name, names.memberTls(m)])),
      backupTls: names.backupTls,
    });
    this.caCertificate = certificates.caCertPem;
    this.caConfigMap = certificates.caConfigMap.metadata.name;
    this.registerOutputs({
      caCertificate: this.caCertificate,
      caConfigMap: this.caConfigMap,
      spec: this.spec,
      connection: this.connection,
      appPassword: this.appPassword,
      replicaHosts: this.replicaHosts,
      readOnlyHost: this.readOnlyHost,
      repository: this.repository,
      namespace: this.namespace,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
      archiveRoleArn: this.archiveRoleArn,
      secretNames: this.secretNames,
    });
  }
}

/** The Kubernetes platform archives to AWS S3 only (the schema refuses the local store here). */
function assertKubernetesSpec(spec: ClusterSpec): void {
  if (spec.platform !== "kubernetes") {
    throw new Error(
      `${spec.name}: KubernetesPostgresCluster needs platform "kubernetes", got "${spec.platform}"`,
    );
  }
  if (spec.archive.store !== "aws") {
    throw new Error(`${spec.name}: the Kubernetes platform archives to AWS S3; set pgstack:archiveStore=aws`);
  }
}
