/**
 * The wire contract between the two stacks: the output keys the EKS stack
 * exports and the ECR stack reads through a StackReference, with their types.
 * Both stacks import this module, so an export and the `getOutputDetails` that
 * reads it cannot drift apart.
 */
import { ClusterSpec, GrantSpec } from "./registry-spec";
import { checkAccountId, checkIssuerUrl, checkRegion, checkRoleArn, Problems } from "./validation";

/** Bumped when an output changes meaning; the ECR stack refuses versions it does not know. */
export const CONTRACT_VERSION = 1;

/** One ServiceAccount the EKS stack created, and the registry role its annotation names. */
export interface WorkloadExport {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly grant: string;
    readonly roleArn: string;
}

/** What an EKS stack exports, by key. */
export interface EksStackOutputs {
    readonly contractVersion: number;
    /** `https://oidc.eks.<region>.amazonaws.com/id/<id>`: no trailing slash. */
    readonly oidcIssuerUrl: string;
    /** SHA-1 of the issuer's top CA certificate, or "" when the stack was told to leave it out. */
    readonly oidcThumbprint: string;
    readonly accountId: string;
    readonly region: string;
    readonly clusterName: string;
    /** Roles of the nodes whose kubelet pulls the images named in Pod specs. */
    readonly nodeRoleArns: readonly string[];
    readonly workloads: readonly WorkloadExport[];
}

/** The keys, in the order they are checked and printed. */
export const EKS_OUTPUT_KEYS: readonly (keyof EksStackOutputs)[] = [
    "contractVersion",
    "oidcIssuerUrl",
    "oidcThumbprint",
    "accountId",
    "region",
    "clusterName",
    "nodeRoleArns",
    "workloads",
];

/** What the ECR stack exports, by key. */
export interface EcrStackOutputs {
    readonly registryAccountId: string;
    readonly region: string;
    /** Repository name to `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
    readonly repositoryUrls: Readonly<Record<string, string>>;
    /** Grant name to the ARN of its pull role. */
    readonly pullRoleArns: Readonly<Record<string, string>>;
    /** Issuer URL to the ARN of its OIDC provider in the registry account. */
    readonly oidcProviderArns: Readonly<Record<string, string>>;
}

// ---- Reading an EKS stack's outputs in the ECR stack -----------------------


/** A referenced EKS stack, as the registry side needs it. */
export interface ReferencedCluster {
    readonly cluster: ClusterSpec;
    readonly region: string;
    readonly clusterName: string;
    readonly workloads: readonly WorkloadExport[];
}

const THUMBPRINT = /^[0-9a-f]{40}$/;

/**
 * Checks the outputs read from an EKS stack. `problems` should render paths
 * as `stack "<name>" output <key>`. Returns undefined when something is wrong.
 */
export function readEksStackOutputs(stackName: string, values: Readonly<Record<string, unknown>>, problems: Problems): ReferencedCluster | undefined {
    const before = problems.list.length;
    for (const key of EKS_OUTPUT_KEYS) {
        if (values[key] === undefined && key !== "oidcThumbprint") {
            problems.missing(key, `run \`pulumi up\` on stack "${stackName}" with this package's EKS program first; it exports ${EKS_OUTPUT_KEYS.join(", ")}.`);
        }
    }
    if (problems.list.length > before) {
        return undefined;
    }
    if (values.contractVersion !== CONTRACT_VERSION) {
        problems.add("contractVersion", values.contractVersion, `is not the version this program reads (${CONTRACT_VERSION}): deploy both stacks from the same release of this package.`);
    }
    checkIssuerUrl(problems, "oidcIssuerUrl", values.oidcIssuerUrl);
    const thumbprint = values.oidcThumbprint ?? "";
    if (thumbprint !== "" && (typeof thumbprint !== "string" || !THUMBPRINT.test(thumbprint))) {
        problems.add("oidcThumbprint", thumbprint, "is not a thumbprint: expected 40 lowercase hex digits or \"\".");
    }
    checkAccountId(problems, "accountId", values.accountId);
    checkRegion(problems, "region", values.region);
    if (typeof values.clusterName !== "string" || values.clusterName === "") {
        problems.add("clusterName", values.clusterName, "is not a cluster name: expected a non-empty string.");
    }
    const nodeRoleArns = values.nodeRoleArns;
    if (!Array.isArray(nodeRoleArns)) {
        problems.add("nodeRoleArns", nodeRoleArns, "is not a list of role ARNs.");
    } else {
        nodeRoleArns.forEach((arn, i) => checkRoleArn(problems, `nodeRoleArns[${i}]`, arn));
    }
    const workloads = values.workloads;
    if (!Array.isArray(workloads)) {
        problems.add("workloads", workloads, "is not a list of { namespace, serviceAccount, grant, roleArn }.");
    } else {
        workloads.forEach((w, i) => {
            const fields = ["namespace", "serviceAccount", "grant", "roleArn"] as const;
            if (typeof w !== "object" || w === null || Array.isArray(w)) {
                problems.add(`workloads[${i}]`, w, "is not an object: expected { namespace, serviceAccount, grant, roleArn }.");
                return;
            }
            const workload = w as Record<string, unknown>;
            for (const field of fields) {
                if (typeof workload[field] !== "string") {
                    problems.add(`workloads[${i}].${field}`, workload[field], "is not a string: expected { namespace, serviceAccount, grant, roleArn }.");
                }
            }
        });
    }
    if (problems.list.length > before) {
        return undefined;
    }
    return {
        cluster: {
            name: stackName,
            accountId: values.accountId as string,
            issuerUrl: values.oidcIssuerUrl as string,
            thumbprint: thumbprint as string,
            nodeRoleArns: [...(nodeRoleArns as string[])].sort(),
        },
        region: values.region as string,
        clusterName: values.clusterName as string,
        workloads: workloads as WorkloadExport[],
    };
}

/**
 * Checks that what each EKS stack annotated its ServiceAccounts with will
 * work: the grant exists here, admits that service account of that cluster,
 * and its role has the ARN the annotation names. Without this, a mismatch
 * shows up only as AccessDenied in a pod.
 */
export function checkWorkloadsAgainstGrants(
    referenced: readonly ReferencedCluster[],
    grants: readonly GrantSpec[],
    roleArnOf: (grant: string) => string,
    problems: Problems,
): void {
    const grantsByName = new Map(grants.map((g) => [g.name, g]));
    for (const { cluster, workloads } of referenced) {
        workloads.forEach((w, i) => {
            const at = `stack "${cluster.name}" output workloads[${i}]`;
            const who = `${w.namespace}/${w.serviceAccount}`;
            const grant = grantsByName.get(w.grant);
            if (!grant) {
                const names = [...grantsByName.keys()].sort().map((n) => JSON.stringify(n)).join(", ");
                problems.raw(at, `(${who}) uses grant "${w.grant}", which this registry does not have: add it to ecrpull:grants, or use one of ${names || "(none defined)"} in that stack's ecrpull:workloads.`);
                return;
            }
            if (!grant.clusters.includes(cluster.name)) {
                problems.raw(at, `(${who}) uses grant "${w.grant}", which does not list cluster "${cluster.name}": add it to that grant's clusters.`);
            } else if (!grant.serviceAccounts.some((sa) => sa.namespace === w.namespace && sa.name === w.serviceAccount)) {
                problems.raw(at, `(${who}) uses grant "${w.grant}", which does not admit service account ${who}: add { namespace: ${w.namespace}, name: ${w.serviceAccount} } to that grant's serviceAccounts.`);
            }
            const expected = roleArnOf(w.grant);
            if (w.roleArn !== expected) {
                problems.raw(at, `(${who}) is annotated with role "${w.roleArn}", but this registry creates "${expected}": set ecrpull:registryAccountId in stack "${cluster.name}" to this registry's account.`);
            }
        });
    }
}
