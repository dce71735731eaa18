import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseStackConfig } from "../../../components/config/parse-stack-config";
import type { StackConfig } from "../../../components/config/stack-config";
import { readStackFiles } from "../../../components/config/stack-files";
import {
  PGBACKREST_SECRET_INCLUDE_FILE,
  PGBACKREST_TLS_FILES,
  RUNNER_CLIENT_CN,
  renderPgbackrestSecretInclude,
} from "../../../components/render/pgbackrest-conf";
import { SECRET_FILES } from "../../../components/render/secret-files";
import { buildClusterSpec } from "../../../components/spec/build-cluster-spec";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import { type OsUser, osUser, POSTGRES_USER, RUNNER_USER } from "../../../test/proving/harness/os-users";
import { ProcessSupervisor, stopStrays } from "../../../test/proving/harness/processes";
import { type CertificateFiles, createCertificateAuthority, issueCertificate } from "./certificates";
import {
  LOCAL_HOST,
  LOCAL_S3_ACCESS_KEY,
  LOCAL_S3_SECRET_KEY,
  type LocalSite,
  localArchiveEnvironment,
  localClusterNetwork,
  localLayout,
  localS3Endpoint,
  memberRoot,
} from "./local-layout";
import { Member } from "./member";
import { freePort } from "./ports";
import { S3Server } from "./s3-server";

export const PROJECT_DIR = resolve(__dirname, "../../..");

export type ProvingStackName = "dev" | "prod";

/** The stack's config exactly as `pulumi up` would parse it from Pulumi.yaml and Pulumi.<stack>.yaml. */
export function loadStackConfig(stack: string): StackConfig {
  const { values, secretKeys } = readStackFiles(PROJECT_DIR, stack);
  return parseStackConfig(values, secretKeys);
}

/** Test secrets of one run, written where the platforms mount them; never on a command line. */
export interface LocalSecrets {
  readonly superuserPassword: string;
  readonly replicationPassword: string;
  readonly appPassword: string;
  readonly repoCipherPass: string;
}

/**
 * One stack's rendered configuration laid out on this machine and ready to run: a spec per
 * member (each built with its local layout), the files written where each spec says, test
 * secrets, a CA with member, runner and S3 certificates, and the S3 server (not yet started).
 */
export interface LocalStack {
  readonly stack: string;
  readonly config: StackConfig;
  readonly site: LocalSite;
  readonly supervisor: ProcessSupervisor;
  readonly s3: S3Server;
  readonly secrets: LocalSecrets;
  /** Spec of each member, by member name (primary, replica-1, ...). */
  readonly specs: Readonly<Record<string, ClusterSpec>>;
  readonly members: Readonly<Record<string, Member>>;
  readonly primary: Member;
  readonly replicas: readonly Member[];
  readonly postgresUser: OsUser;
  readonly runnerUser: OsUser;
  /** Environment of every pgBackRest and PostgreSQL process (local archive substitutions). */
  readonly archiveEnv: Readonly<Record<string, string>>;
  readonly ca: CertificateFiles;
  /**
   * A further member of the same stack with its own port and layout (a restored copy, a scratch
   * cluster): its spec is built like the others' and its files are written the same way.
   */
  addMember(name: string): Promise<Member>;
  /** Stops every process started for this stack and removes its files (kept, for diagnosis, on request). */
  dispose(options?: { readonly keepFiles?: boolean }): Promise<void>;
}

export async function prepareLocalStack(stack: ProvingStackName): Promise<LocalStack> {
  const config = localClusterNetwork(loadStackConfig(stack));
  const root = await mkdtemp(join(tmpdir(), `pgstack-prove-${stack}-`));
  await chmod(root, 0o755);
  const logDir = join(root, "logs");
  await mkdir(logDir, { recursive: true });
  const supervisor = new ProcessSupervisor(logDir);
  try {
    return await layOut(stack, config, root, supervisor);
  } catch (error) {
    await supervisor.stopAll();
    await stopStrays(root);
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    throw error;
  }
}

async function layOut(
  stack: ProvingStackName,
  config: StackConfig,
  root: string,
  supervisor: ProcessSupervisor,
): Promise<LocalStack> {
  const postgresUser = osUser(POSTGRES_USER);
  const runnerUser = osUser(RUNNER_USER);
  const memberNames = ["primary", ...Array.from({ length: config.replicas }, (_, i) => `replica-${i + 1}`)];

  const caDir = join(root, "ca");
  await mkdir(caDir, { recursive: true, mode: 0o755 });
  const ca = await createCertificateAuthority(caDir, `pgstack-${stack}-proving-ca`);
  await chmod(ca.keyFile, 0o600);
  await chmod(ca.certFile, 0o644);

  const memberPorts: Record<string, number> = {};
  const specFor = (name: string) =>
    buildClusterSpec(config, { stack, layout: (defaults) => localLayout(defaults, site, name) });
  for (const name of memberNames) memberPorts[name] = await freePort();
  // Virtual-host or path addressing comes from the store, as buildClusterSpec decides it.
  const store = config.archiveStore ?? (config.platform === "docker" ? "local" : "aws");
  const site: LocalSite = {
    root,
    memberPorts,
    pgbackrestServerPort: await freePort(),
    s3Port: await freePort(),
    s3Endpoint: localS3Endpoint(store === "local" ? "path" : "host"),
    caFile: ca.certFile,
  };

  const specs: Record<string, ClusterSpec> = {};
  for (const name of memberNames) specs[name] = specFor(name);
  const secrets: LocalSecrets = {
    superuserPassword: token(),
    replicationPassword: token(),
    appPassword: token(),
    repoCipherPass: token(),
  };
  const archiveEnv = localArchiveEnvironment(specs.primary);

  const s3Dir = join(root, "s3");
  await mkdir(s3Dir, { recursive: true });
  const s3Cert = await issueCertificate(ca, s3Dir, "s3", { commonName: LOCAL_HOST, dnsNames: [LOCAL_HOST] });
  const s3 = new S3Server({
    supervisor,
    directory: join(s3Dir, "data"),
    bucket: config.archiveBucket,
    certFile: s3Cert.certFile,
    keyFile: s3Cert.keyFile,
    caFile: ca.certFile,
    host: LOCAL_HOST,
    port: site.s3Port,
  });

  const certDir = join(root, "ca", "issued");
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  for (const name of memberNames) {
    await writeMemberFiles(specs[name], name, secrets, ca, certDir, postgresUser);
    await writePassfile(site, name, specs[name], secrets, postgresUser);
    if (name !== "primary") {
      await writeFileAs(
        join(specs[name].layout.configDir, "bootstrap-replica.sh"),
        replicaBootstrapSpec(config, stack, site, name).files["bootstrap-replica.sh"],
        0o644,
      );
    }
  }
  await writeRunnerFiles(specs.primary, secrets, ca, certDir, runnerUser);

  const members: Record<string, Member> = {};
  const member = (name: string) =>
    new Member(name, specs[name], supervisor, postgresUser, archiveEnv, superuserPassfile(site, name));
  for (const name of memberNames) members[name] = member(name);

  return {
    stack,
    config,
    site,
    supervisor,
    s3,
    secrets,
    specs,
    members,
    primary: members.primary,
    replicas: memberNames.slice(1).map((name) => members[name]),
    postgresUser,
    runnerUser,
    archiveEnv,
    ca,
    async addMember(name: string) {
      if (members[name]) throw new Error(`member ${name} exists already`);
      memberPorts[name] = await freePort();
      specs[name] = specFor(name);
      await writeMemberFiles(specs[name], name, secrets, ca, certDir, postgresUser);
      await writePassfile(site, name, specs[name], secrets, postgresUser);
      members[name] = member(name);
      return members[name];
    },
    async dispose(options = {}) {
      await supervisor.stopAll();
      await stopStrays(root);
      if (!options.keepFiles)
        await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}

/**
 * The spec a replica's bootstrap script is rendered from locally. The script connects to the
 * primary at `layout.port`, the member's own port: on the platforms every member listens on
 * 5432, here each member has its own port, so the replica's script is rendered with the
 * primary's. Everything else is the replica's own layout.
 */
export function replicaBootstrapSpec(
  config: StackConfig,
  stack: string,
  site: LocalSite,
  name: string,
): ClusterSpec {
  return buildClusterSpec(config, {
    stack,
    layout: (defaults) => ({ ...localLayout(defaults, site, name), port: site.memberPorts.primary }),
  });
}

/** The harness's own passfile for superuser connections over TCP (not a file the platforms mount). */
function superuserPassfile(site: LocalSite, name: string): string {
  return join(memberRoot(site, name), "proving", "superuser.pgpass");
}

async function writePassfile(
  site: LocalSite,
  name: string,
  spec: ClusterSpec,
  secrets: LocalSecrets,
  postgres: OsUser,
): Promise<void> {
  const line = `*:*:*:${spec.postgres.superuser}:${secrets.superuserPassword}\n`;
  await writeFileAs(superuserPassfile(site, name), line, 0o600, postgres);
}

function token(): string {
  // Alphanumeric, as ClusterSecrets generates them: safe in passfiles and pgBackRest config lines.
  return randomBytes(24).toString("hex");
}

/** The include file with the run's secrets; static S3 keys are added where the stack uses IRSA. */
function secretInclude(spec: ClusterSpec, secrets: LocalSecrets): string {
  const text = renderPgbackrestSecretInclude(spec, {
    "repo1-cipher-pass": secrets.repoCipherPass,
    "repo1-s3-key": LOCAL_S3_ACCESS_KEY,
    "repo1-s3-key-secret": LOCAL_S3_SECRET_KEY,
  });
  if (spec.archive.keyType === "shared") return text;
  // Local substitution for web-id (see localArchiveEnvironment): static keys of the local S3 server.
  return `${text}repo1-s3-key=${LOCAL_S3_ACCESS_KEY}\nrepo1-s3-key-secret=${LOCAL_S3_SECRET_KEY}\n`;
}

async function writeFileAs(path: string, text: string, mode: number, owner?: OsUser): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFile(path, text, { mode });
  await chmod(path, mode);
  if (owner) await chownPath(path, owner);
}

async function chownPath(path: string, owner: OsUser): Promise<void> {
  await chown(path, owner.uid, owner.gid);
}

async function ownedDir(path: string, owner: OsUser, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o755 });
  await chmod(path, mode);
  await chownPath(path, owner);
}

async function writeMemberFiles(
  spec: ClusterSpec,
  name: string,
  secrets: LocalSecrets,
  ca: CertificateFiles,
  certDir: string,
  postgres: OsUser,
): Promise<void> {
  const { layout, files } = spec;
  // Read-only mounts in the containers: owned by root here, readable by postgres.
  for (const file of [
    "postgresql.conf",
    "pg_hba.conf",
    "check-data-dir.sh",
    "init-roles.sh",
    "bootstrap-replica.sh",
  ] as const) {
    await writeFileAs(join(layout.configDir, file), files[file], 0o644);
  }
  await writeFileAs(join(layout.pgbackrestConfigDir, "pgbackrest.conf"), files["pgbackrest.conf"], 0o644);
  await ownedDir(layout.pgbackrestIncludeDir, postgres, 0o700);
  await writeFileAs(
    join(layout.pgbackrestIncludeDir, PGBACKREST_SECRET_INCLUDE_FILE),
    secretInclude(spec, secrets),
    0o600,
    postgres,
  );

  await ownedDir(layout.secretsDir, postgres, 0o700);
  for (const [key, file] of Object.entries(SECRET_FILES)) {
    await writeFileAs(
      join(layout.secretsDir, file),
      secrets[key as keyof typeof SECRET_FILES],
      0o600,
      postgres,
    );
  }

  const cert = await issueCertificate(ca, certDir, name, {
    commonName: layout.hosts[name] ?? LOCAL_HOST,
    dnsNames: [LOCAL_HOST],
  });
  await installCertificate(layout.tlsDir, postgres, cert, ca, {
    cert: PGBACKREST_TLS_FILES.serverCert,
    key: PGBACKREST_TLS_FILES.serverKey,
  });

  await ownedDir(layout.volumeDir, postgres, 0o700);
  await ownedDir(layout.socketDir, postgres, 0o755);
  await ownedDir(layout.pgbackrestLockPath, postgres, 0o700);
  await ownedDir(layout.pgbackrestLogPath, postgres, 0o700);
  await ownedDir(layout.spoolPath, postgres, 0o700);
}

async function writeRunnerFiles(
  spec: ClusterSpec,
  secrets: LocalSecrets,
  ca: CertificateFiles,
  certDir: string,
  runner: OsUser,
): Promise<void> {
  const { runner: paths } = spec.layout;
  await writeFileAs(join(paths.configDir, "pgbackrest.conf"), spec.files["pgbackrest-runner.conf"], 0o644);
  await ownedDir(paths.includeDir, runner, 0o700);
  await writeFileAs(
    join(paths.includeDir, PGBACKREST_SECRET_INCLUDE_FILE),
    secretInclude(spec, secrets),
    0o600,
    runner,
  );
  const cert = await issueCertificate(ca, certDir, "runner", { commonName: RUNNER_CLIENT_CN, dnsNames: [] });
  await installCertificate(paths.tlsDir, runner, cert, ca, {
    cert: PGBACKREST_TLS_FILES.runnerCert,
    key: PGBACKREST_TLS_FILES.runnerKey,
  });
  await ownedDir(paths.logPath, runner, 0o700);
  await ownedDir(paths.lockPath, runner, 0o700);
}

/**
 * A certificate, its key (0600: PostgreSQL and libpq refuse readable keys) and the stack CA,
 * under the file names the rendered configs name, owned by the process that reads them.
 */
async function installCertificate(
  dir: string,
  owner: OsUser,
  issued: { certFile: string; keyFile: string },
  ca: CertificateFiles,
  names: { cert: string; key: string },
): Promise<void> {
  await ownedDir(dir, owner, 0o755);
  await writeFileAs(join(dir, names.cert), await readFile(issued.certFile, "utf8"), 0o644, owner);
  await writeFileAs(join(dir, names.key), await readFile(issued.keyFile, "utf8"), 0o600, owner);
  await writeFileAs(join(dir, PGBACKREST_TLS_FILES.ca), await readFile(ca.certFile, "utf8"), 0o644, owner);
}
