/**
 * A realistic fleet for the two-stack tests: a registry account, a cluster
 * this package creates (account A) and an existing cluster it adopts
 * (account B), with workloads on both and one grant per access path:
 * ci-builders (federation, both clusters), payments (chaining, cluster A),
 * ml (Pod Identity, both clusters).
 */
import { EcrStackRun, EksStackRun } from "../../tools/engine/two-stacks";

export const REGISTRY_ACCOUNT = "111122223333";
export const ACCOUNT_A = "444455556666";
export const ACCOUNT_B = "777788889999";
export const REGION = "eu-west-1";

export const STACK_A = "acme/ecrpull/eks-a";
export const STACK_B = "acme/ecrpull/eks-b";
export const ISSUER_B = "https://oidc.eks.eu-west-1.amazonaws.com/id/B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0";
export const NODE_ROLE_B = `arn:aws:iam::${ACCOUNT_B}:role/apps-b-nodes`;

export function clusterA(overrides: Record<string, unknown> = {}): EksStackRun {
    return {
        name: STACK_A,
        accountId: ACCOUNT_A,
        region: REGION,
        config: {
            "ecrpull:registryAccountId": REGISTRY_ACCOUNT,
            "ecrpull:cluster": { name: "apps-a", create: true, version: "1.31" },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": [
                { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders" },
                { namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" },
                { namespace: "ml", serviceAccount: "trainer", grant: "ml", path: "podIdentity" },
            ],
            ...overrides,
        },
    };
}

export function clusterB(overrides: Record<string, unknown> = {}): EksStackRun {
    return {
        name: STACK_B,
        accountId: ACCOUNT_B,
        region: REGION,
        existingClusters: { "apps-b": { issuerUrl: ISSUER_B, addons: ["eks-pod-identity-agent"] } },
        config: {
            "ecrpull:registryAccountId": REGISTRY_ACCOUNT,
            "ecrpull:cluster": { name: "apps-b", create: false, nodeRoleArns: [NODE_ROLE_B] },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": [
                { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders" },
                { namespace: "ml", serviceAccount: "trainer", grant: "ml", path: "podIdentity" },
            ],
            ...overrides,
        },
    };
}

export const GRANTS = [
    {
        name: "ci-builders",
        clusters: [STACK_A, STACK_B],
        serviceAccounts: [{ namespace: "ci", name: "image-builder" }],
        repositories: ["platform/base", "ci/cache"],
    },
    {
        name: "payments",
        path: "chaining",
        clusters: [STACK_A],
        serviceAccounts: [{ namespace: "payments", name: "deployer" }],
        repositories: ["payments/api", "platform/base"],
    },
    {
        name: "ml",
        path: "podIdentity",
        clusters: [STACK_A, STACK_B],
        serviceAccounts: [{ namespace: "ml", name: "trainer" }],
        repositories: ["ml/models"],
    },
];

export function registry(overrides: Record<string, unknown> = {}): EcrStackRun {
    return {
        accountId: REGISTRY_ACCOUNT,
        region: REGION,
        config: {
            "ecrpull:clusterStacks": [STACK_A, STACK_B],
            "ecrpull:repositories": [
                { name: "platform/base" },
                { name: "ci/cache", imageTagMutability: "MUTABLE" },
                { name: "payments/api", retainOnDelete: false },
                { name: "ml/models", imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: ["latest", "nightly-*"] },
                { name: "archive/legacy" },
            ],
            "ecrpull:grants": GRANTS,
            ...overrides,
        },
    };
}

// ---- A second region: a cluster in us-east-1, and the registry replicating there ----

export const REPLICA_REGION = "us-east-1";
export const STACK_US = "acme/ecrpull/eks-us";
export const ACCOUNT_US = "222233334444";
export const ISSUER_US = "https://oidc.eks.us-east-1.amazonaws.com/id/C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0";
export const NODE_ROLE_US = `arn:aws:iam::${ACCOUNT_US}:role/apps-us-nodes`;

/** An adopted cluster in us-east-1 with workloads of ci-builders (federation) and ml (Pod Identity). */
export function clusterUs(overrides: Record<string, unknown> = {}): EksStackRun {
    return {
        name: STACK_US,
        accountId: ACCOUNT_US,
        region: REPLICA_REGION,
        existingClusters: { "apps-us": { issuerUrl: ISSUER_US, addons: ["eks-pod-identity-agent"] } },
        config: {
            "aws:region": REPLICA_REGION,
            "ecrpull:registryAccountId": REGISTRY_ACCOUNT,
            "ecrpull:cluster": { name: "apps-us", create: false, nodeRoleArns: [NODE_ROLE_US] },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": [
                { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders" },
                { namespace: "ml", serviceAccount: "trainer", grant: "ml", path: "podIdentity" },
            ],
            ...overrides,
        },
    };
}

/** The registry (eu-west-1) replicating every repository to us-east-1; ci-builders and ml also serve the us-east-1 cluster. */
export function replicatedRegistry(overrides: Record<string, unknown> = {}): EcrStackRun {
    const withUs = (name: string) => GRANTS.map((g) => (g.name === name ? { ...g, clusters: [...g.clusters, STACK_US] } : g));
    return registry({
        "ecrpull:clusterStacks": [STACK_A, STACK_B, STACK_US],
        "ecrpull:grants": withUs("ci-builders").map((g, i) => (g.name === "ml" ? withUs("ml")[i] : g)),
        "ecrpull:replicaRegions": [REPLICA_REGION],
        ...overrides,
    });
}
