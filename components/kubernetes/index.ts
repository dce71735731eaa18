export * from "./postgres-cluster";
