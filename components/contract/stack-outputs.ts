/**
 * The wire contract between the two stacks: the output keys the EKS stack
 * exports and the ECR stack reads through a StackReference, with their types.
 * Both stacks import this module, so an export and the `getOutputDetails` that
 * reads it cannot drift apart.
 */
import { ACCESS_PATHS, accountIdOfArn, clusterArn as clusterArnOf, DEFAULT_ACCESS_PATH, partitionOfRegion } from "../iam/names";
import { ClusterRoleSpec, ClusterSpec, GrantSpec } from "../registry/spec";
import { checkAccountId, checkIssuerUrl, checkOneOf, checkRegion, checkRoleArn, Problems } from "../validation";
import { wildcardMatches } from "../iam/wildcards";
import { orgRolePath } from "../iam/org-scope";

/**
 * Bumped when an output is added or changes meaning; the ECR stack refuses
 * versions it does not know. 2: `clusterArn`, and each workload's `path` and
 * `clusterRoleArn` (access paths).
 */
export const CONTRACT_VERSION = 2;

/** One ServiceAccount the EKS stack created, and how it reaches its grant's pull role. */
export interface WorkloadExport {
    /** The ServiceAccount's namespace. */
    readonly namespace: string;
    /** The ServiceAccount's name. */
    readonly serviceAccount: string;
    /** The grant (registry pull role) it uses. */
    readonly grant: string;
    /** `federation`, `chaining` or `podIdentity`. */
    readonly path: string;
    /** The registry pull role the workload ends up with. */
    readonly roleArn: string;
    /** The cluster-account role on the way (chaining: the IRSA role; Pod Identity: the association role); "" for federation. */
    readonly clusterRoleArn: string;
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
    /** `arn:aws:eks:<region>:<account>:cluster/<name>`: Pod Identity sessions are tagged with it. */
    readonly clusterArn: string;
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
    "clusterArn",
    "nodeRoleArns",
    "workloads",
];

/** What the ECR stack exports, by key. */
export interface EcrStackOutputs {
    readonly registryAccountId: string;
    readonly region: string;
    /** Repository name to `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
    readonly repositoryUrls: Readonly<Record<string, string>>;
    /** Grant name to the ARN of its pull role; `<grant>.<shard>` for the further roles of a sharded grant. */
    readonly pullRoleArns: Readonly<Record<string, string>>;
    /** Issuer URL to the ARN of its OIDC provider in the registry account. */
    readonly oidcProviderArns: Readonly<Record<string, string>>;
    /** Replica region to repository name to `<account>.dkr.ecr.<replica region>.amazonaws.com/<name>`: what clusters there pull from. */
    readonly replicaRepositoryUrls: Readonly<Record<string, Readonly<Record<string, string>>>>;
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
    // Another release's outputs: say so once, instead of listing what differs.
    if (typeof values.contractVersion === "number" && values.contractVersion !== CONTRACT_VERSION) {
        problems.add(
            "contractVersion",
            values.contractVersion,
            values.contractVersion > CONTRACT_VERSION
                ? `is newer than the version this program reads (${CONTRACT_VERSION}): stack "${stackName}" was deployed with a newer release of ecrpull; upgrade this stack's ecrpull to that release, so that both stacks speak the same contract.`
                : `is older than the version this program reads (${CONTRACT_VERSION}): run \`pulumi up\` on stack "${stackName}" with this release of ecrpull first, so that both stacks speak the same contract.`,
        );
        return undefined;
    }
    for (const key of EKS_OUTPUT_KEYS) {
        if (values[key] === undefined && key !== "oidcThumbprint") {
            problems.missing(key, `run \`pulumi up\` on stack "${stackName}" with this package's EKS program first; it exports ${EKS_OUTPUT_KEYS.join(", ")}.`);
        }
    }
    if (problems.list.length > before) {
        return undefined;
    }
    if (values.contractVersion !== CONTRACT_VERSION) {
        problems.add(
            "contractVersion",
            values.contractVersion,
            `is not the version this program reads (${CONTRACT_VERSION}): deploy both stacks from the same release of this package.`,
        );
    }
    checkIssuerUrl(problems, "oidcIssuerUrl", values.oidcIssuerUrl);
    const thumbprint = values.oidcThumbprint ?? "";
    if (thumbprint !== "" && (typeof thumbprint !== "string" || !THUMBPRINT.test(thumbprint))) {
        problems.add("oidcThumbprint", thumbprint, 'is not a thumbprint: expected 40 lowercase hex digits or "".');
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
        problems.add("workloads", workloads, "is not a list of { namespace, serviceAccount, grant, path, roleArn, clusterRoleArn }.");
    } else {
        workloads.forEach((w, i) => {
            const fields = ["namespace", "serviceAccount", "grant", "path", "roleArn", "clusterRoleArn"] as const;
            if (typeof w !== "object" || w === null || Array.isArray(w)) {
                problems.add(`workloads[${i}]`, w, "is not an object: expected { namespace, serviceAccount, grant, path, roleArn, clusterRoleArn }.");
                return;
            }
            const workload = w as Record<string, unknown>;
            for (const field of fields) {
                if (typeof workload[field] !== "string") {
                    problems.add(
                        `workloads[${i}].${field}`,
                        workload[field],
                        "is not a string: expected { namespace, serviceAccount, grant, path, roleArn, clusterRoleArn }.",
                    );
                }
            }
            if (typeof workload.path === "string" && !(ACCESS_PATHS as readonly string[]).includes(workload.path)) {
                checkOneOf(problems, `workloads[${i}].path`, workload.path, ACCESS_PATHS);
            } else if (workload.path === "federation" && workload.clusterRoleArn !== "" && typeof workload.clusterRoleArn === "string") {
                problems.add(
                    `workloads[${i}].clusterRoleArn`,
                    workload.clusterRoleArn,
                    'should be "" for a federated workload, which has no cluster-account role.',
                );
            } else if (typeof workload.path === "string" && workload.path !== "federation" && typeof workload.clusterRoleArn === "string") {
                const before = problems.list.length;
                checkRoleArn(problems, `workloads[${i}].clusterRoleArn`, workload.clusterRoleArn);
                if (problems.list.length === before && typeof values.accountId === "string" && accountIdOfArn(workload.clusterRoleArn) !== values.accountId) {
                    problems.add(
                        `workloads[${i}].clusterRoleArn`,
                        workload.clusterRoleArn,
                        `is not in the cluster's account ${values.accountId} (output accountId).`,
                    );
                }
            }
        });
    }
    checkClusterArn(problems, values.clusterArn);
    if (problems.list.length === before) {
        const expected = clusterArnOf(
            partitionOfRegion(values.region as string),
            values.region as string,
            values.accountId as string,
            values.clusterName as string,
        );
        if (values.clusterArn !== expected) {
            problems.add(
                "clusterArn",
                values.clusterArn,
                `does not match outputs accountId, region and clusterName (${JSON.stringify(expected)}): Pod Identity sessions would carry another cluster's tag. Redeploy that stack.`,
            );
        }
    }
    if (problems.list.length > before) {
        return undefined;
    }
    const clusterRoles = clusterRolesOf(workloads as WorkloadExport[], problems);
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
            clusterArn: values.clusterArn as string,
            clusterRoles,
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
    roleArnOf: (grant: GrantSpec, cluster: ClusterSpec) => string,
    problems: Problems,
): void {
    const grantsByName = new Map(grants.map((g) => [g.name, g]));
    for (const { cluster, workloads } of referenced) {
        workloads.forEach((w, i) => {
            const at = `stack "${cluster.name}" output workloads[${i}]`;
            const who = `${w.namespace}/${w.serviceAccount}`;
            const grant = grantsByName.get(w.grant);
            if (!grant) {
                const names = [...grantsByName.keys()]
                    .sort()
                    .map((n) => JSON.stringify(n))
                    .join(", ");
                problems.raw(
                    at,
                    `(${who}) uses grant "${w.grant}", which this registry does not have: add it to ecrpull:grants, or use one of ${names || "(none defined)"} in that stack's ecrpull:workloads.`,
                );
                return;
            }
            const grantPath = grant.path ?? DEFAULT_ACCESS_PATH;
            if (w.path !== grantPath) {
                problems.raw(
                    at,
                    `(${who}) reaches grant "${w.grant}" by path "${w.path}", but that grant's path is "${grantPath}": set the same path in ecrpull:grants and in that stack's ecrpull:workloads.`,
                );
            } else if (grant.scope && !w.clusterRoleArn.includes(`:role${orgRolePath(grant.name)}`)) {
                problems.raw(
                    at,
                    `(${who}) reaches grant "${w.grant}" through the role "${w.clusterRoleArn}", but that grant has an organization scope, whose trust admits only roles at IAM path ${orgRolePath(grant.name)}: give stack "${cluster.name}" the grant definitions (ecrpull:grants, e.g. from the shared ESC environment) so that it puts its role there, and update it.`,
                );
            } else if (!grant.scope && !(grant.clusters ?? []).includes(cluster.name)) {
                problems.raw(at, `(${who}) uses grant "${w.grant}", which does not list cluster "${cluster.name}": add it to that grant's clusters.`);
            } else if (!grant.serviceAccounts.some((sa) => matches(sa.namespace, w.namespace) && matches(sa.name, w.serviceAccount))) {
                problems.raw(
                    at,
                    `(${who}) uses grant "${w.grant}", which does not admit service account ${who}: add { namespace: ${w.namespace}, name: ${w.serviceAccount} } to that grant's serviceAccounts.`,
                );
            }
            const expected = roleArnOf(grant, cluster);
            if (w.roleArn !== expected) {
                const fix =
                    accountIdOfArn(w.roleArn) !== accountIdOfArn(expected)
                        ? `set ecrpull:registryAccountId in stack "${cluster.name}" to this registry's account`
                        : `set shards: ${grant.shards ?? 1} on the workloads of grant "${grant.name}" in stack "${cluster.name}" (ecrpull:workloads), as the grant has`;
                problems.raw(at, `(${who}) expects the pull role "${w.roleArn}", but this registry creates "${expected}" for that cluster: ${fix}.`);
            }
        });
    }
}

function checkClusterArn(problems: Problems, value: unknown): void {
    if (typeof value !== "string" || !/^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster\/[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(value)) {
        problems.add("clusterArn", value, 'is not an EKS cluster ARN: expected "arn:aws:eks:<region>:<account>:cluster/<name>".');
    }
}

/** The one cluster-account role per chained or Pod Identity grant that the workloads name. */
function clusterRolesOf(workloads: readonly WorkloadExport[], problems: Problems): ClusterRoleSpec[] {
    const roles = new Map<string, ClusterRoleSpec & { index: number }>();
    workloads.forEach((w, i) => {
        if (w.path === "federation") {
            return;
        }
        const key = `${w.grant}/${w.path}`;
        const known = roles.get(key);
        if (known && known.roleArn !== w.clusterRoleArn) {
            problems.add(
                `workloads[${i}].clusterRoleArn`,
                w.clusterRoleArn,
                `differs from ${JSON.stringify(known.roleArn)} of workloads[${known.index}], which has the same grant "${w.grant}": a cluster has one ${w.path} role per grant. Redeploy that stack with this release.`,
            );
        } else if (!known) {
            roles.set(key, { grant: w.grant, path: w.path, roleArn: w.clusterRoleArn, index: i });
        }
    });
    return [...roles.values()]
        .map(({ grant, path, roleArn }) => ({ grant, path, roleArn }))
        .sort((a, b) => (`${a.grant}/${a.path}` < `${b.grant}/${b.path}` ? -1 : 1));
}

/** IAM's StringLike: `*` any run of characters, `?` any one. Exact values match themselves. */
function matches(pattern: string, value: string): boolean {
    return wildcardMatches(pattern, value);
}
