import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { SECRET_KEYS, stackConfigSchema } from "../../components/config/stack-config";

const projectFile = readFileSync("Pulumi.yaml", "utf8");
const project = parse(projectFile) as {
  name: string;
  main: string;
  config: Record<string, { type: string; description?: string; default?: unknown; items?: unknown }>;
};

const pulumiType = (schema: z.ZodType): string => {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  if (inner instanceof z.ZodArray) return "array";
  if (inner instanceof z.ZodBoolean) return "boolean";
  if (
    inner instanceof z.ZodNumber ||
    (inner instanceof z.ZodUnion && inner.options.every((o) => o instanceof z.ZodLiteral))
  ) {
    return "integer";
  }
  return "string";
};

describe("Pulumi.yaml documents the stack config", () => {
  const keys = Object.keys(stackConfigSchema.shape) as (keyof typeof stackConfigSchema.shape)[];

  it("is the pgstack project with index.ts as entry", () => {
    expect(project.name).toBe("pgstack");
    expect(project.main).toBe("index.ts");
  });

  it("declares exactly the schema's keys, each with type and description", () => {
    expect(Object.keys(project.config).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      expect(project.config[key].type, key).toBe(pulumiType(stackConfigSchema.shape[key] as z.ZodType));
      expect(project.config[key].description, key).toMatch(/\w{3,}/);
    }
  });

  it("declares the same defaults as the schema (or an unset marker)", () => {
    for (const key of keys) {
      const schema = stackConfigSchema.shape[key] as z.ZodType;
      const declared = project.config[key].default;
      if (schema instanceof z.ZodDefault) {
        expect(declared, key).toEqual(schema.def.defaultValue);
      } else if (schema instanceof z.ZodOptional) {
        expect(["", 0], key).toContainEqual(declared);
      } else {
        expect(declared, `${key} is required and must have no default`).toBeUndefined();
      }
    }
  });

  it("does not declare secrets (they would become required) but documents each", () => {
    for (const key of SECRET_KEYS) {
      expect(project.config[key]).toBeUndefined();
      expect(projectFile).toMatch(new RegExp(`^#\\s+${key}\\s+\\S`, "m"));
    }
  });
});

describe("README's configuration reference", () => {
  const readme = readFileSync("README.md", "utf8");

  it("has a row for every key, with the type Pulumi.yaml declares", () => {
    for (const [key, declaration] of Object.entries(project.config)) {
      const row = readme.split("\n").find((line) => line.startsWith(`| \`pgstack:${key}\` |`));
      expect(row, `README row for pgstack:${key}`).toBeDefined();
      expect(row?.split("|")[2].trim().startsWith(declaration.type), key).toBe(true);
    }
  });

  it("names every secret", () => {
    for (const key of SECRET_KEYS) expect(readme).toContain(`\`${key}\``);
  });
});
