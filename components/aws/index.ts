export * from "./archive-access";
export * from "./archive-access-policy";
export * from "./archive-bucket";
