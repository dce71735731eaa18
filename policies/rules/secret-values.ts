/**
 * How a plaintext secret shows up in a container's environment. Environment values are readable
 * by anyone who can inspect the container or read the pod spec, and they land in state and
 * previews: secrets belong in files (Docker uploads, Kubernetes Secret volumes) or in
 * `valueFrom.secretKeyRef`.
 */

/** Names that announce a secret: PGPASSWORD, AWS_SECRET_ACCESS_KEY, PGBACKREST_REPO1_CIPHER_PASS, ... */
const SECRET_NAME =
  /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CIPHER_PASS|PRIVATE_KEY|ACCESS_KEY|API_KEY|CREDENTIAL|_KEY$|^KEY$)/i;

/** Names that hold where a secret is, not the secret: PGPASSFILE, *_FILE, *_PATH, key types. */
const REFERENCE_NAME = /(_FILE|_PATH|_DIR|_TYPE|PASSFILE)$/i;

/** Values that are secrets whatever the variable is called. */
const SECRET_VALUE: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, what: "a URL with a password in it" },
  { pattern: /\bpassword\s*=\s*[^\s'"]+/i, what: "a libpq connection string with password=" },
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: "a private key" },
  { pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, what: "an AWS access key id" },
];

/** Why an environment variable holds a plaintext secret, or undefined when it does not. */
export function plaintextSecretReason(name: string, value: string): string | undefined {
  if (value.length === 0) return undefined;
  for (const { pattern, what } of SECRET_VALUE) {
    if (pattern.test(value)) return `its value is ${what}`;
  }
  if (SECRET_NAME.test(name) && !REFERENCE_NAME.test(name))
    return "its name says it holds a secret and it has a literal value";
  return undefined;
}

/**
 * Lines of a config file that carry a secret inline (pgBackRest's repo1-cipher-pass and S3 keys,
 * a password in primary_conninfo). Such files must come from a Secret, never a ConfigMap.
 */
const SECRET_CONFIG_LINE =
  /^\s*(repo\d+-cipher-pass|repo\d+-s3-key|repo\d+-s3-key-secret|repo\d+-s3-token|pg\d+-host-key-pass)\s*=\s*\S+/m;

export function inlineSecretInConfig(content: string): string | undefined {
  const match = SECRET_CONFIG_LINE.exec(content);
  if (match) return `sets ${match[1]} inline`;
  if (/primary_conninfo\s*=.*\bpassword\s*=/i.test(content)) return "puts a password in primary_conninfo";
  return undefined;
}
