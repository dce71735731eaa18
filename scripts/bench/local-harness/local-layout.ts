import { join } from "node:path";
import type { StackConfig } from "../../../components/config/stack-config";
import type { ClusterSpec, Layout } from "../../../components/spec/cluster-spec";

/**
 * Everything a proving run changes from what the platforms deploy, and nothing else. The spec is
 * built with the stack's own config; only where things live on this machine and how the members
 * reach each other and S3 differ. Memory, tuning, archiving, retention and security settings are
 * the stack's, unchanged. The complete list:
 * - `localLayout`: paths (re-rooted per member), ports, hosts (`localhost`), the pgBackRest TLS
 *   server on 127.0.0.1, the S3 endpoint and its CA;
 * - `localClusterNetwork`: the members' network (pods come from the pod CIDR, here from 127.0.0.1);
 * - `localArchiveEnvironment`: S3 credentials and addressing that exist only on AWS (IRSA,
 *   virtual-host bucket names), as PGBACKREST_* variables that leave the rendered files intact.
 */

/** One proving run's place on this machine: a root directory and the ports it picked. */
export interface LocalSite {
  readonly root: string;
  /** PostgreSQL port of each member (members share one host here, so each needs its own port). */
  readonly memberPorts: Readonly<Record<string, number>>;
  readonly pgbackrestServerPort: number;
  readonly s3Port: number;
  /** S3 endpoint name, from `localS3Endpoint` (the stack's URI style decides it). */
  readonly s3Endpoint: string;
  /** The run's CA certificate: it signs the S3 server's, the members' and the runner's certificates. */
  readonly caFile: string;
}

/** Host name of every member and of S3: a DNS name in every certificate's SAN (pgBackRest refuses IPs). */
export const LOCAL_HOST = "localhost";

/** Root of one member's (or the runner's) files: the container paths are kept, below this directory. */
export function memberRoot(site: LocalSite, member: string): string {
  return join(site.root, member);
}

/**
 * The layout of `member` on this machine: the platform's container paths re-rooted under the
 * member's own directory, the member's port, `localhost` for every host, the pgBackRest TLS
 * server on 127.0.0.1, and the local S3 server with the run's CA.
 */
export function localLayout(defaults: Layout, site: LocalSite, member: string): Layout {
  const port = site.memberPorts[member];
  if (port === undefined) throw new Error(`no local port for member ${member}`);
  const local = (path: string) => join(memberRoot(site, member), path);
  const runner = (path: string) => join(memberRoot(site, "runner"), path);
  return {
    dataDir: local(defaults.dataDir),
    volumeDir: local(defaults.volumeDir),
    configDir: local(defaults.configDir),
    pgbackrestConfigDir: local(defaults.pgbackrestConfigDir),
    pgbackrestIncludeDir: local(defaults.pgbackrestIncludeDir),
    secretsDir: local(defaults.secretsDir),
    tlsDir: local(defaults.tlsDir),
    socketDir: local(defaults.socketDir),
    spoolPath: local(defaults.spoolPath),
    pgbackrestLogPath: local(defaults.pgbackrestLogPath),
    pgbackrestLockPath: local(defaults.pgbackrestLockPath),
    port,
    hosts: Object.fromEntries(Object.keys(defaults.hosts).map((name) => [name, LOCAL_HOST])),
    pgbackrestServerPort: site.pgbackrestServerPort,
    pgbackrestServerAddress: "127.0.0.1",
    s3Endpoint: site.s3Endpoint,
    s3Port: site.s3Port,
    s3CaFile: site.caFile,
    runner: {
      configDir: runner(defaults.runner.configDir),
      includeDir: runner(defaults.runner.includeDir),
      tlsDir: runner(defaults.runner.tlsDir),
      logPath: runner(defaults.runner.logPath),
      lockPath: runner(defaults.runner.lockPath),
    },
  };
}

/** Access key of the local S3 server (s3rver checks the signature's form, not the secret). */
export const LOCAL_S3_ACCESS_KEY = "S3RVER";
export const LOCAL_S3_SECRET_KEY = "S3RVER";

/**
 * pgBackRest environment for a stack whose S3 access cannot exist off AWS. pgBackRest reads
 * PGBACKREST_* variables over its config file, so the rendered files stay byte for byte as
 * deployed:
 * - web-id (IRSA) needs an EKS service-account token and AWS STS: locally static keys are used;
 * - virtual-host addressing needs `<bucket>.<endpoint>` to resolve: locally the connection goes
 *   to `localhost` (repo1-storage-host) while requests still carry the bucket in the host name.
 * Empty for a stack that already uses static keys and path-style addressing (dev).
 */
export function localArchiveEnvironment(spec: ClusterSpec): Record<string, string> {
  const env: Record<string, string> = {};
  if (spec.archive.keyType === "web-id") env.PGBACKREST_REPO1_S3_KEY_TYPE = "shared";
  if (spec.archive.uriStyle === "host") env.PGBACKREST_REPO1_STORAGE_HOST = LOCAL_HOST;
  return env;
}

/**
 * The S3 endpoint for a local run: `localhost` for path-style stacks; for virtual-host stacks
 * `s3.localhost`, so requests name `<bucket>.s3.localhost`, which the S3 server maps back to the
 * bucket as AWS does for `<bucket>.s3.<region>.amazonaws.com`.
 */
export function localS3Endpoint(uriStyle: "host" | "path"): string {
  return uriStyle === "host" ? `s3.${LOCAL_HOST}` : LOCAL_HOST;
}

/**
 * The stack config with the members' network as seen here: replication and backup connections
 * come from 127.0.0.1, not from the pod network a Kubernetes stack names in clusterCidr.
 * `samenet` (Docker) already covers loopback and stays as it is.
 */
export function localClusterNetwork(config: StackConfig): StackConfig {
  if (config.clusterCidr === undefined || config.clusterCidr === "samenet") return config;
  return { ...config, clusterCidr: "127.0.0.1/32" };
}
