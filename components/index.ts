/**
 * The package's public API: the components, and the pure modules they are
 * built from (names, policy documents, validation, plans), so other programs
 * can compute the same documents, names and ARNs without creating anything.
 * This file only re-exports.
 */

// Components, one per file.
export * from "./registry-access";
export * from "./pull-role";
export * from "./pull-repository";
export * from "./managed-cluster";
export * from "./existing-cluster";
export * from "./cluster-pull-access";
export * from "./cluster-source";

// The wire contract between the two stacks.
export * from "./contract";

// Pure modules: names, documents, validation, plans.
export * from "./names";
export * from "./policies";
export * from "./validation";
export * from "./registry-spec";
export * from "./registry-plan";
export * from "./cluster-spec";
export * from "./cluster-plan";
export * from "./thumbprint";
export * from "./stack-export";

// Who can pull what, read from deployed or planned documents, and why a token is refused.
export * from "./access-evaluator";
export * from "./access-report";
export * from "./state-audit";
export * from "./jwt";
export * from "./oidc-discovery";
export * from "./token-doctor";
