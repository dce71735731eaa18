import { rmSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import { planStack, projectWith, runProgram, STACK_FRAME, type StackEdit, secure } from "./threat-harness";

/**
 * The threat list: every way a stack config can be wrong that pgstack refuses, one row each —
 * a key alone (range, unit, form, blank), a relation between keys, an override, and a collision
 * between two stacks (refused in each of them). Every row is planned as `npm run plan` plans it
 * and run as `pulumi preview` runs the program, and asserts: the plan exits 2 and writes nothing,
 * the program throws before registering any resource, and the message names the key(s), the
 * value, the rule and the fix, with no stack trace.
 */

interface Threat {
  /** What the user got wrong, as a user would say it. */
  readonly title: string;
  /** The stack planned. */
  readonly stack: string;
  /** Edits to the project's stack files (the planned one and any other). */
  readonly edits: Readonly<Record<string, StackEdit>>;
  /** Keys the message names. */
  readonly keys: readonly string[];
  /** The offending value as the message shows it. */
  readonly value: string;
  readonly rule: RegExp;
  readonly fix: RegExp;
}

const dev = (set: Record<string, unknown>, remove: string[] = []) => ({ dev: { set, remove } });
const prod = (set: Record<string, unknown>, remove: string[] = []) => ({ prod: { set, remove } });

/** A second Kubernetes stack beside prod, on its own bucket unless the row says otherwise. */
const staging = (set: Record<string, unknown> = {}) => ({
  staging: { from: "prod", set: { "pgstack:archiveBucket": "acme-pgstack-staging-wal", ...set } },
});

/** dev archiving to prod's bucket on AWS, one level above prod's repository path. */
const devIntoProdRepository = dev({
  "pgstack:archiveStore": "aws",
  "pgstack:archiveRegion": "eu-west-1",
  "pgstack:archiveBucket": "acme-pgstack-prod-wal",
  "pgstack:archivePrefix": "/pgstack",
  "pgstack:archiveAccessKeyId": secure(),
  "pgstack:archiveSecretAccessKey": secure(),
});

const THREATS: readonly Threat[] = [
  // One key alone: unit, range, form, blank.
  {
    title: "a memory limit without a unit",
    stack: "dev",
    edits: dev({ "pgstack:memoryLimit": "2" }),
    keys: ["pgstack:memoryLimit"],
    value: '"2"',
    rule: /binary unit \(Ki, Mi, Gi, Ti\).*bare number is ambiguous/,
    fix: /pulumi config set pgstack:memoryLimit 8Gi/,
  },
  {
    title: "a memory limit in decimal gigabytes",
    stack: "prod",
    edits: prod({ "pgstack:memoryLimit": "8G" }),
    keys: ["pgstack:memoryLimit"],
    value: '"8G"',
    rule: /Kubernetes reads M and G as powers of 1000/,
    fix: /pulumi config set pgstack:memoryLimit 8Gi/,
  },
  {
    title: "a memory limit below what PostgreSQL can run in",
    stack: "dev",
    edits: dev({ "pgstack:memoryLimit": "128Mi" }),
    keys: ["pgstack:memoryLimit"],
    value: '"128Mi"',
    rule: /size from 256Mi to 4Ti/,
    fix: /pulumi config set pgstack:memoryLimit/,
  },
  {
    title: "a data volume below 1Gi",
    stack: "dev",
    edits: dev({ "pgstack:storageSize": "512Mi" }),
    keys: ["pgstack:storageSize"],
    value: '"512Mi"',
    rule: /size from 1Gi to 64Ti/,
    fix: /pulumi config set pgstack:storageSize 200Gi/,
  },
  {
    title: "a required key left out",
    stack: "prod",
    edits: prod({}, ["pgstack:storageSize"]),
    keys: ["pgstack:storageSize"],
    value: "<unset>",
    rule: /is required: the size of each member's data volume/,
    fix: /pulumi config set pgstack:storageSize 200Gi/,
  },
  {
    title: "a bucket name left blank",
    stack: "dev",
    edits: dev({ "pgstack:archiveBucket": "" }),
    keys: ["pgstack:archiveBucket"],
    value: "<unset>",
    rule: /is required: the S3 bucket of the pgBackRest repository/,
    fix: /pulumi config set pgstack:archiveBucket acme-pgstack-prod-wal/,
  },
  {
    title: "a platform of spaces",
    stack: "prod",
    edits: prod({ "pgstack:platform": "  " }),
    keys: ["pgstack:platform"],
    value: '"  "',
    rule: /expected one of docker, kubernetes$/m,
    fix: /pulumi config set pgstack:platform docker/,
  },
  {
    title: "zero CPUs",
    stack: "dev",
    edits: dev({ "pgstack:cpus": 0 }),
    keys: ["pgstack:cpus"],
    value: "0",
    rule: /whole number of CPUs, 1 to 256/,
    fix: /pulumi config set pgstack:cpus 4/,
  },
  {
    title: "a fraction of a CPU",
    stack: "prod",
    edits: prod({ "pgstack:cpus": 1.5 }),
    keys: ["pgstack:cpus"],
    value: "1.5",
    rule: /whole number of CPUs, 1 to 256/,
    fix: /pulumi config set pgstack:cpus/,
  },
  {
    title: "an archive timeout below 10 seconds",
    stack: "dev",
    edits: dev({ "pgstack:archiveTimeout": 5 }),
    keys: ["pgstack:archiveTimeout"],
    value: "5",
    rule: /whole number of seconds, 10 to 3600/,
    fix: /pulumi config set pgstack:archiveTimeout 60/,
  },
  {
    title: "an archive timeout written with a unit",
    stack: "prod",
    edits: prod({ "pgstack:archiveTimeout": "60s" }),
    keys: ["pgstack:archiveTimeout"],
    value: '"60s"',
    rule: /whole number of seconds, 10 to 3600/,
    fix: /pulumi config set pgstack:archiveTimeout 60/,
  },
  {
    title: "a recovery window written with a unit",
    stack: "prod",
    edits: prod({ "pgstack:archiveRecoveryWindowDays": "14d" }),
    keys: ["pgstack:archiveRecoveryWindowDays"],
    value: '"14d"',
    rule: /whole number of days, 1 to 3650/,
    fix: /pulumi config set pgstack:archiveRecoveryWindowDays 30/,
  },
  {
    title: "a recovery window of no days",
    stack: "dev",
    edits: dev({ "pgstack:archiveRecoveryWindowDays": 0 }),
    keys: ["pgstack:archiveRecoveryWindowDays"],
    value: "0",
    rule: /whole number of days, 1 to 3650/,
    fix: /pulumi config set pgstack:archiveRecoveryWindowDays 30/,
  },
  {
    title: "six replicas",
    stack: "prod",
    edits: prod({ "pgstack:replicas": 6 }),
    keys: ["pgstack:replicas"],
    value: "6",
    rule: /whole number of replicas, 0 to 5/,
    fix: /pulumi config set pgstack:replicas 1/,
  },
  {
    title: "a misspelt workload",
    stack: "dev",
    edits: dev({ "pgstack:workload": "webb" }),
    keys: ["pgstack:workload"],
    value: '"webb"',
    rule: /expected one of web, oltp, dw, mixed, desktop; did you mean web\?/,
    fix: /pulumi config set pgstack:workload web$/m,
  },
  {
    title: "a platform in the wrong case",
    stack: "dev",
    edits: dev({ "pgstack:platform": "Docker" }),
    keys: ["pgstack:platform"],
    value: '"Docker"',
    rule: /expected one of docker, kubernetes; did you mean docker\?/,
    fix: /pulumi config set pgstack:platform docker/,
  },
  {
    title: "a minor PostgreSQL version",
    stack: "prod",
    edits: prod({ "pgstack:postgresVersion": 15.4 }),
    keys: ["pgstack:postgresVersion"],
    value: "15.4",
    rule: /one of 15, 16, 17 \(the major version only/,
    fix: /pulumi config set pgstack:postgresVersion 16/,
  },
  {
    title: "a cron hour of 25",
    stack: "dev",
    edits: dev({ "pgstack:backupFullSchedule": "0 25 * * 0" }),
    keys: ["pgstack:backupFullSchedule"],
    value: '"0 25 * * 0"',
    rule: /the hour field \(field 2\) is "25": "25" is out of range: hours are 0 to 23/,
    fix: /pulumi config set pgstack:backupFullSchedule '0 1 \* \* 0'/,
  },
  {
    title: "a weekday range written backwards",
    stack: "prod",
    edits: prod({ "pgstack:backupDiffSchedule": "0 1 * * SAT-MON" }),
    keys: ["pgstack:backupDiffSchedule"],
    value: '"0 1 * * SAT-MON"',
    rule: /the day-of-week field \(field 5\) is "SAT-MON": the range SAT-MON runs backwards/,
    fix: /pulumi config set pgstack:backupDiffSchedule/,
  },
  {
    title: "a schedule that never fires (31 February)",
    stack: "dev",
    edits: dev({ "pgstack:backupFullSchedule": "0 3 31 2 *" }),
    keys: ["pgstack:backupFullSchedule"],
    value: '"0 3 31 2 *"',
    rule: /never fires/,
    fix: /pulumi config set pgstack:backupFullSchedule/,
  },
  {
    title: "a misspelt key",
    stack: "dev",
    edits: dev({ "pgstack:memoryLimt": "4Gi" }),
    keys: ["pgstack:memoryLimt"],
    value: '"4Gi"',
    rule: /is not a pgstack setting; did you mean pgstack:memoryLimit\?/,
    fix: /pulumi config rm pgstack:memoryLimt; pulumi config set pgstack:memoryLimit/,
  },
  {
    title: "a misspelt namespace, which nothing would read",
    stack: "prod",
    edits: prod({ "pgstak:replicas": 2 }),
    keys: ["pgstak:replicas"],
    value: "2",
    rule: /namespace pgstak, which nothing reads; did you mean pgstack:replicas\?/,
    fix: /pulumi config rm pgstak:replicas; pulumi config set pgstack:replicas/,
  },
  {
    title: "a password in plaintext",
    stack: "dev",
    edits: dev({ "pgstack:appPassword": "hunter2" }),
    keys: ["pgstack:appPassword"],
    value: "<plaintext>",
    rule: /is a secret but is stored in plaintext/,
    fix: /pulumi config set --secret pgstack:appPassword/,
  },
  {
    title: "an application database name with capitals and a dash",
    stack: "dev",
    edits: dev({ "pgstack:database": "App-DB" }),
    keys: ["pgstack:database"],
    value: '"App-DB"',
    rule: /lowercase PostgreSQL identifier/,
    fix: /pulumi config set pgstack:database app/,
  },
  {
    title: "a bucket name S3 refuses",
    stack: "dev",
    edits: dev({ "pgstack:archiveBucket": "PGSTACK_DEV" }),
    keys: ["pgstack:archiveBucket"],
    value: '"PGSTACK_DEV"',
    rule: /S3 bucket name: 3 to 63 characters/,
    fix: /pulumi config set pgstack:archiveBucket/,
  },
  {
    title: "a CIDR with a prefix over 32",
    stack: "prod",
    edits: prod({ "pgstack:allowedCidrs": ["10.0.0.0/33"] }),
    keys: ["pgstack:allowedCidrs[0]"],
    value: '"10.0.0.0/33"',
    rule: /CIDR block: an address and a prefix length/,
    fix: /pulumi config set --path 'pgstack:allowedCidrs\[0\]' 10\.0\.0\.0\/16/,
  },
  {
    title: "an image on the latest tag",
    stack: "dev",
    edits: dev({ "pgstack:image": "postgres:latest" }),
    keys: ["pgstack:image"],
    value: '"postgres:latest"',
    rule: /is not pinned: give a tag other than latest, or a digest/,
    fix: /pulumi config set pgstack:image/,
  },
  {
    title: "TLS set to yes",
    stack: "prod",
    edits: prod({ "pgstack:tls": "yes" }),
    keys: ["pgstack:tls"],
    value: '"yes"',
    rule: /expected true or false/,
    fix: /pulumi config set pgstack:tls true/,
  },
  {
    title: "a published port below 1024",
    stack: "dev",
    edits: dev({ "pgstack:publishPort": 80 }),
    keys: ["pgstack:publishPort"],
    value: "80",
    rule: /whole number of a TCP port, 1024 to 65535/,
    fix: /pulumi config set pgstack:publishPort 15432/,
  },
  {
    title: "a blank StorageClass",
    stack: "prod",
    edits: prod({ "pgstack:storageClass": "  " }),
    keys: ["pgstack:storageClass"],
    value: '"  "',
    rule: /without leading or trailing spaces/,
    fix: /pulumi config set pgstack:storageClass gp3/,
  },
  {
    title: "a namespace that is not a DNS label",
    stack: "prod",
    edits: prod({ "pgstack:namespace": "Prod_NS" }),
    keys: ["pgstack:namespace"],
    value: '"Prod_NS"',
    rule: /lowercase DNS label/,
    fix: /pulumi config set pgstack:namespace pgstack-prod/,
  },
  {
    title: "an S3 access mode in capitals",
    stack: "prod",
    edits: prod({ "pgstack:s3Access": "IRSA" }),
    keys: ["pgstack:s3Access"],
    value: '"IRSA"',
    rule: /expected one of irsa, accessKey; did you mean irsa\?/,
    fix: /pulumi config set pgstack:s3Access irsa/,
  },
  {
    title: "a KMS alias where a key ARN is needed",
    stack: "prod",
    edits: prod({ "pgstack:kmsKeyArn": "alias/pgstack" }),
    keys: ["pgstack:kmsKeyArn"],
    value: '"alias/pgstack"',
    rule: /KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key\/<id>/,
    fix: /pulumi config set pgstack:kmsKeyArn/,
  },
  {
    title: "an OIDC issuer with its scheme",
    stack: "prod",
    edits: prod({ "pgstack:oidcProviderUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC" }),
    keys: ["pgstack:oidcProviderUrl"],
    value: '"https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"',
    rule: /without https:\/\//,
    fix: /pulumi config set pgstack:oidcProviderUrl oidc\.eks/,
  },
  {
    title: "an endpoint given as a URL",
    stack: "prod",
    edits: prod({ "pgstack:archiveEndpoint": "https://s3.eu-west-1.amazonaws.com" }),
    keys: ["pgstack:archiveEndpoint"],
    value: '"https://s3.eu-west-1.amazonaws.com"',
    rule: /host name only/,
    fix: /pulumi config set pgstack:archiveEndpoint s3\.eu-west-1\.amazonaws\.com/,
  },

  // Relations between keys.
  {
    title: "a memory request above the limit",
    stack: "prod",
    edits: prod({ "pgstack:memoryRequest": "16Gi" }),
    keys: ["pgstack:memoryRequest", "pgstack:memoryLimit"],
    value: '"16Gi"',
    rule: /must not exceed pgstack:memoryLimit = "8Gi"/,
    fix: /pulumi config set pgstack:memoryRequest 8Gi/,
  },
  {
    title: "more connections than the memory limit can hold",
    stack: "dev",
    edits: dev({ "pgstack:maxConnections": 5000 }),
    keys: ["pgstack:memoryLimit", "pgstack:maxConnections"],
    value: "5000",
    rule: /do not fit in memoryLimit 2Gi/,
    fix: /pulumi config set pgstack:maxConnections \d+/,
  },
  {
    title: "the differential schedule firing with the full one",
    stack: "dev",
    edits: dev({ "pgstack:backupDiffSchedule": "30 12 * * *" }),
    keys: ["pgstack:backupDiffSchedule", "pgstack:backupFullSchedule"],
    value: '"30 12 * * *"',
    rule: /fires at the same minute as pgstack:backupFullSchedule = "30 12 \* \* 1".*one backup at a time/,
    fix: /exclude the full backup's day/,
  },
  {
    title: "AWS S3 from Docker without static keys",
    stack: "dev",
    edits: dev({ "pgstack:archiveStore": "aws", "pgstack:archiveRegion": "eu-west-1" }),
    keys: ["pgstack:archiveAccessKeyId", "pgstack:archiveSecretAccessKey"],
    value: "<unset>",
    rule: /required with platform=docker and archiveStore=aws/,
    fix: /pulumi config set --secret pgstack:archiveAccessKeyId/,
  },
  {
    title: "half of a static S3 key pair",
    stack: "prod",
    edits: prod({ "pgstack:s3Access": "accessKey", "pgstack:archiveAccessKeyId": secure() }),
    keys: ["pgstack:archiveSecretAccessKey", "pgstack:archiveAccessKeyId"],
    value: "<unset>",
    rule: /static S3 keys are a pair/,
    fix: /pulumi config set --secret pgstack:archiveSecretAccessKey/,
  },
  {
    title: "AWS S3 from Docker with the region left to a default",
    stack: "dev",
    edits: dev({
      "pgstack:archiveStore": "aws",
      "pgstack:archiveAccessKeyId": secure(),
      "pgstack:archiveSecretAccessKey": secure(),
    }),
    keys: ["pgstack:archiveRegion"],
    value: "<unset>",
    rule: /is required with archiveStore=aws: pgstack never guesses the region/,
    fix: /pulumi config set pgstack:archiveRegion/,
  },
  {
    title: "prod without a bucket region (it used to default to us-east-1 silently)",
    stack: "prod",
    edits: prod({}, ["pgstack:archiveRegion"]),
    keys: ["pgstack:archiveRegion"],
    value: "<unset>",
    rule: /is required with archiveStore=aws \(the default on Kubernetes\)/,
    fix: /pulumi config set pgstack:archiveRegion/,
  },
  {
    title: "a bucket region that disagrees with aws:region",
    stack: "prod",
    edits: prod({ "pgstack:archiveRegion": "us-east-1" }),
    keys: ["pgstack:archiveRegion", "aws:region"],
    value: '"us-east-1"',
    rule: /disagrees with aws:region = "eu-west-1"/,
    fix: /pulumi config set pgstack:archiveRegion eu-west-1/,
  },
  {
    title: "prod without aws:region",
    stack: "prod",
    edits: prod({}, ["aws:region"]),
    keys: ["aws:region", "pgstack:archiveRegion"],
    value: "<unset>",
    rule: /the AWS provider, which would otherwise pick the region of whoever runs pulumi up/,
    fix: /pulumi config set aws:region eu-west-1/,
  },
  {
    title: "an S3 endpoint in another region than the bucket's",
    stack: "prod",
    edits: prod({ "pgstack:archiveEndpoint": "s3.us-west-2.amazonaws.com" }),
    keys: ["pgstack:archiveEndpoint", "pgstack:archiveRegion"],
    value: '"s3.us-west-2.amazonaws.com"',
    rule: /is in us-west-2 but pgstack:archiveRegion = "eu-west-1"/,
    fix: /pulumi config rm pgstack:archiveEndpoint/,
  },
  {
    title: "a world-open client network in prod",
    stack: "prod",
    edits: prod({ "pgstack:allowedCidrs": ["10.0.0.0/16", "0.0.0.0/0"] }),
    keys: ["pgstack:allowedCidrs[1]"],
    value: '"0.0.0.0/0"',
    rule: /is world-open .*every client network must be named/,
    fix: /pulumi config set --path 'pgstack:allowedCidrs\[1\]'/,
  },
  {
    title: "IRSA without the cluster's OIDC provider",
    stack: "prod",
    edits: prod({}, ["pgstack:oidcProviderArn"]),
    keys: ["pgstack:oidcProviderArn"],
    value: "<unset>",
    rule: /is required with s3Access=irsa/,
    fix: /pulumi config set pgstack:s3Access accessKey/,
  },
  {
    title: "Kubernetes without the pod network",
    stack: "prod",
    edits: prod({}, ["pgstack:clusterCidr"]),
    keys: ["pgstack:clusterCidr"],
    value: "<unset>",
    rule: /needs the pod network CIDR/,
    fix: /pulumi config set pgstack:clusterCidr/,
  },
  {
    title: "the local S3 store on Kubernetes",
    stack: "prod",
    edits: prod({ "pgstack:archiveStore": "local" }),
    keys: ["pgstack:archiveStore"],
    value: '"local"',
    rule: /local S3 store runs only beside the Docker platform/,
    fix: /pulumi config set pgstack:archiveStore aws/,
  },
  {
    title: "a published port on Kubernetes",
    stack: "prod",
    edits: prod({ "pgstack:publishPort": 15432 }),
    keys: ["pgstack:publishPort"],
    value: "15432",
    rule: /only the Docker platform publishes a port/,
    fix: /pulumi config rm pgstack:publishPort/,
  },
  {
    title: "a Kubernetes namespace on Docker, which nothing would read",
    stack: "dev",
    edits: dev({ "pgstack:namespace": "pgstack-dev" }),
    keys: ["pgstack:namespace"],
    value: '"pgstack-dev"',
    rule: /applies to the Kubernetes platform only/,
    fix: /pulumi config rm pgstack:namespace/,
  },
  {
    title: "a KMS key for MinIO, which nothing would use",
    stack: "dev",
    edits: dev({ "pgstack:kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abc" }),
    keys: ["pgstack:kmsKeyArn"],
    value: '"arn:aws:kms:eu-west-1:123456789012:key/abc"',
    rule: /applies to AWS S3 only/,
    fix: /pulumi config rm pgstack:kmsKeyArn/,
  },
  {
    title: "a stack name Kubernetes cannot use",
    stack: "Prod_EU",
    edits: { Prod_EU: { from: "prod", set: { "pgstack:archiveBucket": "acme-pgstack-prod-eu-wal" } } },
    keys: ["stack name"],
    value: '"Prod_EU"',
    rule: /Kubernetes object names are derived from the stack name and the .* is not a DNS label/,
    fix: /pulumi stack rename prod-eu/,
  },
  {
    title: "a stack name too long for Kubernetes' derived names",
    stack: "production-eu-west-1-blue-green-a",
    edits: {
      "production-eu-west-1-blue-green-a": {
        from: "prod",
        set: { "pgstack:archiveBucket": "acme-pgstack-blue-wal" },
      },
    },
    keys: ["stack name"],
    value: '"production-eu-west-1-blue-green-a"',
    rule: /characters, over Kubernetes' 52/,
    fix: /pulumi stack rename production-eu-west-1-blue-green/,
  },

  // Overrides.
  {
    title: "fsync turned off",
    stack: "dev",
    edits: dev({ "pgstack:parameters": ["fsync=off"] }),
    keys: ["pgstack:parameters[0]"],
    value: '"fsync=off"',
    rule: /fsync=off is refused: .*corrupt/,
    fix: /remove pgstack:parameters\[0\]/,
  },
  {
    title: "a WAL size the data volume cannot hold",
    stack: "dev",
    edits: dev({ "pgstack:parameters": ["max_wal_size=6GB"] }),
    keys: ["pgstack:parameters[0]", "pgstack:storageSize"],
    value: '"max_wal_size=6GB"',
    rule: /the WAL PostgreSQL may keep on the data volume \(max_wal_size 6GB \+ wal_keep_size .* must stay within half of the 10Gi volume, 5GB/,
    fix: /use at most "max_wal_size=\d+MB", or raise pgstack:storageSize/,
  },
  {
    title: "wal_keep_size beside the slot bound overflowing the volume",
    stack: "dev",
    edits: dev({ "pgstack:parameters": ["wal_keep_size=4GB"] }),
    keys: ["pgstack:parameters[0]", "pgstack:storageSize"],
    value: '"wal_keep_size=4GB"',
    rule: /wal_keep_size 4GB \+ max_slot_wal_keep_size 2GB \+ pgBackRest's archive-get queue 128MB/,
    fix: /pulumi config set pgstack:storageSize \d+Gi \(the smallest whole-Gi volume that holds it\)/,
  },
  {
    title: "a slot bound that leaves no room for the data",
    stack: "prod",
    edits: prod({ "pgstack:parameters": ["max_slot_wal_keep_size=150GB"] }),
    keys: ["pgstack:parameters[0]", "pgstack:storageSize"],
    value: '"max_slot_wal_keep_size=150GB"',
    rule: /must stay within half of the 200Gi volume, 100GB/,
    fix: /use at most "max_slot_wal_keep_size=\d+MB"/,
  },
  {
    title: "a shared_buffers larger than the memory limit",
    stack: "prod",
    edits: prod({ "pgstack:parameters": ["shared_buffers=16GB"] }),
    keys: ["pgstack:parameters[0]"],
    value: '"shared_buffers=16GB"',
    rule: /over the 8GiB container limit \(the container would be OOM-killed\)/,
    fix: /use at most "shared_buffers=\d+MB", raise pgstack:memoryLimit, or remove the entry/,
  },
  {
    title: "an override of a parameter another key sets",
    stack: "prod",
    edits: prod({ "pgstack:parameters": ["archive_timeout=5min"] }),
    keys: ["pgstack:parameters[0]", "pgstack:archiveTimeout"],
    value: '"archive_timeout=5min"',
    rule: /archive_timeout is computed from pgstack:archiveTimeout/,
    fix: /set pgstack:archiveTimeout instead/,
  },

  // Collisions between stacks: each side is refused.
  {
    title: "dev's repository path reaching into prod's (planning dev)",
    stack: "dev",
    edits: devIntoProdRepository,
    keys: ["pgstack:archivePrefix", "pgstack:archiveBucket"],
    value: '"/pgstack"',
    rule: /reaches into the repository of stack prod \(Pulumi\.prod\.yaml\), s3:\/\/acme-pgstack-prod-wal\/pgstack\/prod/,
    fix: /pulumi config set pgstack:archivePrefix \/pgstack\/dev/,
  },
  {
    title: "dev's repository path reaching into prod's (planning prod)",
    stack: "prod",
    edits: devIntoProdRepository,
    keys: ["pgstack:archivePrefix", "pgstack:archiveBucket"],
    value: '"/pgstack/prod"',
    rule: /reaches into the repository of stack dev \(Pulumi\.dev\.yaml\), s3:\/\/acme-pgstack-prod-wal\/pgstack/,
    fix: /pulumi config set pgstack:archivePrefix \/pgstack\/prod/,
  },
  {
    title: "two Kubernetes stacks creating the same bucket (planning staging)",
    stack: "staging",
    edits: staging({ "pgstack:archiveBucket": "acme-pgstack-prod-wal" }),
    keys: ["pgstack:archiveBucket"],
    value: '"acme-pgstack-prod-wal"',
    rule: /is also the bucket of stack prod \(Pulumi\.prod\.yaml\); each stack creates and owns its bucket/,
    fix: /pulumi config set pgstack:archiveBucket/,
  },
  {
    title: "two Kubernetes stacks creating the same bucket (planning prod)",
    stack: "prod",
    edits: staging({ "pgstack:archiveBucket": "acme-pgstack-prod-wal" }),
    keys: ["pgstack:archiveBucket"],
    value: '"acme-pgstack-prod-wal"',
    rule: /is also the bucket of stack staging \(Pulumi\.staging\.yaml\)/,
    fix: /pulumi config set pgstack:archiveBucket/,
  },
  {
    title: "a namespace taken from another stack (planning staging)",
    stack: "staging",
    edits: staging({ "pgstack:namespace": "pgstack-prod" }),
    keys: ["pgstack:namespace"],
    value: '"pgstack-prod"',
    rule: /is also the namespace of stack prod \(Pulumi\.prod\.yaml\)/,
    fix: /pulumi config set pgstack:namespace pgstack-staging/,
  },
  {
    title: "a namespace taken from another stack (planning prod)",
    stack: "prod",
    edits: staging({ "pgstack:namespace": "pgstack-prod" }),
    keys: ["pgstack:namespace"],
    value: '"pgstack-prod"',
    rule: /is also the namespace of stack staging \(Pulumi\.staging\.yaml\)/,
    fix: /pulumi config set pgstack:namespace pgstack-prod/,
  },
  {
    title: "another stack's namespace admitted as a client (planning prod)",
    stack: "prod",
    edits: { ...staging(), prod: { set: { "pgstack:clientNamespaces": ["app", "pgstack-staging"] } } },
    keys: ["pgstack:clientNamespaces[1]"],
    value: '"pgstack-staging"',
    rule: /is the namespace of stack staging \(Pulumi\.staging\.yaml\): its database and backup pods would be admitted/,
    fix: /pulumi config rm --path 'pgstack:clientNamespaces\[1\]'/,
  },
  {
    title: "another stack's namespace admitted as a client (planning staging)",
    stack: "staging",
    edits: { ...staging(), prod: { set: { "pgstack:clientNamespaces": ["app", "pgstack-staging"] } } },
    keys: ["pgstack:namespace", "pgstack:clientNamespaces"],
    value: '"pgstack-staging"',
    rule: /is listed in pgstack:clientNamespaces of stack prod \(Pulumi\.prod\.yaml\)/,
    fix: /remove pgstack-staging from pgstack:clientNamespaces in Pulumi\.prod\.yaml/,
  },
  {
    title: "a Docker stack whose names begin with another's (planning dev-blue)",
    stack: "dev-blue",
    edits: { "dev-blue": { from: "dev" } },
    keys: ["stack name"],
    value: '"dev-blue"',
    rule: /every Docker name of stack dev starts with pgstack-dev-, which also begins every name of stack dev-blue/,
    fix: /pulumi stack rename --stack dev-blue <a name that does not start with dev->/,
  },
  {
    title: "a Docker stack whose names begin with another's (planning dev)",
    stack: "dev",
    edits: { "dev-blue": { from: "dev" } },
    keys: ["stack name"],
    value: '"dev"',
    rule: /which also begins every name of stack dev-blue \(Pulumi\.dev-blue\.yaml\)/,
    fix: /pulumi stack rename --stack dev-blue /,
  },
  {
    title: "two Docker stacks publishing the same port (planning dev)",
    stack: "dev",
    edits: {
      ...dev({ "pgstack:publishPort": 15432 }),
      qa: { from: "dev", set: { "pgstack:publishPort": 15432, "pgstack:archiveBucket": "pgstack-qa" } },
    },
    keys: ["pgstack:publishPort"],
    value: "15432",
    rule: /is also the published port of stack qa \(Pulumi\.qa\.yaml\): both bind 127\.0\.0\.1:15432/,
    fix: /pulumi config set pgstack:publishPort 15433/,
  },
  {
    title: "two Docker stacks publishing the same port (planning qa)",
    stack: "qa",
    edits: {
      ...dev({ "pgstack:publishPort": 15432 }),
      qa: { from: "dev", set: { "pgstack:publishPort": 15432, "pgstack:archiveBucket": "pgstack-qa" } },
    },
    keys: ["pgstack:publishPort"],
    value: "15432",
    rule: /is also the published port of stack dev \(Pulumi\.dev\.yaml\)/,
    fix: /pulumi config set pgstack:publishPort 15433/,
  },
];

/** zod's own wording, which says nothing about units, ranges or fixes. */
const BARE_SCHEMA_DEFAULT = /Invalid (input|option)|Too (small|big)|expected \w+, received \w+/;

const projects: string[] = [];
afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

describe("the threat list", () => {
  it("has at least 40 rows across both stacks", () => {
    expect(THREATS.length).toBeGreaterThanOrEqual(40);
    for (const stack of ["dev", "prod"]) {
      expect(THREATS.filter((threat) => threat.stack === stack).length, stack).toBeGreaterThanOrEqual(20);
    }
  });

  describe.each(THREATS)("$title (stack $stack)", (threat) => {
    let project: string;
    beforeAll(() => {
      project = projectWith(threat.edits);
      projects.push(project);
    });

    it("is refused by the plan with exit code 2, before anything is written, naming key, value, rule and fix", async () => {
      const run = await planStack(project, threat.stack);
      expect(run.code, run.stderr).toBe(2);
      expect(run.wroteOutput).toBe(false);
      expect(run.stdout).toBe("");
      for (const key of threat.keys) expect(run.stderr).toContain(key);
      expect(run.stderr).toContain(threat.value);
      expect(run.stderr).toMatch(threat.rule);
      expect(run.stderr).toMatch(new RegExp(`fix: .*(?:${threat.fix.source})`, threat.fix.flags));
      expect(run.stderr).not.toMatch(STACK_FRAME);
      expect(run.stderr).not.toMatch(BARE_SCHEMA_DEFAULT);
    });

    it("is refused by the program before it registers any resource, without a stack trace", async () => {
      const run = await runProgram(project, threat.stack);
      expect(run.registered).toBe(0);
      expect(pulumi.RunError.isInstance(run.error), String(run.error)).toBe(true);
      const refusal = run.error as Error & { cause?: unknown };
      // The program ran from a fresh module registry: its ConfigError is a twin of this file's class.
      expect((refusal.cause as Error).name).toBe(ConfigError.name);
      expect(refusal.message).toMatch(threat.rule);
      expect(refusal.message).toMatch(threat.fix);
      expect(refusal.message).not.toMatch(STACK_FRAME);
    });
  });
});

describe("the repository's own stacks", () => {
  it.each(["dev", "prod"])("%s is accepted, and the program then registers its resources", async (stack) => {
    const project = projectWith({});
    projects.push(project);
    const run = await runProgram(project, stack);
    expect(run.error).toBeUndefined();
    // The zero above is a finding only because a good config registers dozens.
    expect(run.registered).toBeGreaterThan(20);
  });
});
