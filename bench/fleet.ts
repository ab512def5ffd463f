/**
 * A deterministic fleet for the benchmark, laid out the way a platform team
 * would within AWS's default quotas:
 *
 * - clusters spread over cluster accounts, 5 per account, one node role each;
 * - each tenant has a namespace with 2 service accounts, 10 (or
 *   repositories / tenants) repositories and one grant that spans 3 clusters;
 *   the grants rotate over the three access paths;
 * - federated grants only use clusters among the first 90, so that the
 *   registry account needs at most 90 of its 100 OIDC providers;
 * - one "platform" grant on path chaining spans every cluster, split into as
 *   many shards as keep each of its trust policies under 2,048 characters;
 * - node pulls are named by account (`nodePullScope: accounts`) only when
 *   naming every node role would push a repository policy over 10,240.
 *
 * Every EKS stack's outputs are generated as the EKS program exports them
 * (same naming functions, same order), so the ECR stack's cross-checks pass.
 *
 * Pure: no randomness, no I/O, no Pulumi runtime.
 */
import { createHash } from "crypto";
import { WorkloadSpec } from "../components/cluster/spec";
import { CONTRACT_VERSION, EksStackOutputs, readEksStackOutputs, WorkloadExport } from "../components/contract/stack-outputs";
import { AccessPath, ACCESS_PATHS, clusterArn, clusterRoleName, MAX_SHARDS, partitionOfRegion, pullRoleArnForCluster } from "../components/iam/names";
import { planRegistry, RegistryPlan } from "../components/registry/plan";
import { ClusterSpec, GrantSpec, RepositorySpec } from "../components/registry/spec";
import { Problems } from "../components/validation";

export const REGISTRY_ACCOUNT = "111122223333";
export const REGION = "eu-west-1";
export const ORGANIZATION = "acme";
export const PROJECT = "ecrpull";

export const CLUSTERS_PER_ACCOUNT = 5;
export const CLUSTERS_PER_GRANT = 3;
/** Federated grants only use clusters among the first this many: the registry account's 100 OIDC providers, with headroom. */
export const FEDERATION_CLUSTER_POOL = 90;
export const SERVICE_ACCOUNTS_PER_TENANT = ["api", "worker"] as const;
export const PLATFORM_GRANT = "platform";
export const PLATFORM_NAMESPACE = "platform";
export const PLATFORM_SERVICE_ACCOUNTS = ["image-prefetch", "ci-runner"] as const;
export const PLATFORM_REPOSITORIES = ["platform/base", "platform/sidecar"] as const;
export const TAGS = { "cost-center": "platform", "managed-by": "pulumi" };

export interface FleetSize {
    readonly clusters: number;
    readonly tenants: number;
    /** Tenant repositories in all (a multiple of tenants); the platform's two come on top. */
    readonly repositories: number;
}

/** A size and the choices `planFleet` made for it: everything `generateFleet` needs. */
export interface FleetOptions extends FleetSize {
    readonly platformShards: number;
    readonly nodePullScope: "roles" | "accounts";
    /** Tenant grants the last cluster joins besides its own (bench/growth.ts adds a cluster to a grant of each path). */
    readonly joins?: readonly string[];
}

export interface FleetCluster {
    readonly index: number;
    /** The EKS stack's fully qualified name: what the ECR stack's clusterStacks and grants name. */
    readonly stackName: string;
    readonly clusterName: string;
    readonly accountId: string;
    readonly issuerUrl: string;
    readonly nodeRoleArn: string;
    readonly clusterArn: string;
}

export interface Fleet {
    readonly label: string;
    readonly options: FleetOptions;
    readonly registryAccountId: string;
    readonly region: string;
    readonly clusters: readonly FleetCluster[];
    readonly repositories: RepositorySpec[];
    readonly grants: GrantSpec[];
    /** The ECR stack's config, keys with their namespace. */
    readonly ecrConfig: Readonly<Record<string, unknown>>;
    /** Each EKS stack's outputs, by stack name: what the ECR stack's StackReferences read. */
    readonly references: Readonly<Record<string, EksStackOutputs>>;
    /** The `ecrpull:workloads` of a cluster's EKS stack. */
    readonly workloadsOf: (cluster: FleetCluster) => WorkloadSpec[];
}

export const fleetLabel = (size: FleetSize) => `${size.clusters}x${size.tenants}x${size.repositories}`;

const pad = (n: number) => String(n).padStart(3, "0");

/** EKS makes 32 upper-case hex digits; derived from the cluster, as stable as a real one. */
function issuerId(seed: string): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, 32).toUpperCase();
}

function makeClusters(count: number): FleetCluster[] {
    const partition = partitionOfRegion(REGION);
    return Array.from({ length: count }, (_, index) => {
        const clusterName = `eks-${pad(index)}`;
        const accountId = String(200000000000 + Math.floor(index / CLUSTERS_PER_ACCOUNT) * 1001);
        return {
            index,
            stackName: `${ORGANIZATION}/${PROJECT}/${clusterName}`,
            clusterName,
            accountId,
            issuerUrl: `https://oidc.eks.${REGION}.amazonaws.com/id/${issuerId(`${accountId}/${clusterName}`)}`,
            nodeRoleArn: `arn:${partition}:iam::${accountId}:role/${clusterName}-nodes`,
            clusterArn: clusterArn(partition, REGION, accountId, clusterName),
        };
    });
}

export const tenantName = (t: number) => `team-${pad(t)}`;

/** Tenant t's path: the three paths in turn. */
export const tenantPath = (t: number): AccessPath => ACCESS_PATHS[t % ACCESS_PATHS.length];

/**
 * Tenant t's clusters: 3 consecutive ones. The tenants of each path take the
 * next 3 in turn, so each path spreads evenly (federated grants over the
 * first 90, where they may spend up to 90 of the registry's OIDC providers).
 */
function tenantClusters(t: number, clusters: number): number[] {
    const pool = tenantPath(t) === "federation" ? Math.min(clusters, FEDERATION_CLUSTER_POOL) : clusters;
    const span = Math.min(CLUSTERS_PER_GRANT, pool);
    const ordinal = Math.floor(t / ACCESS_PATHS.length);
    const start = (ordinal * CLUSTERS_PER_GRANT) % pool;
    return Array.from({ length: span }, (_, k) => (start + k) % pool);
}

export function generateFleet(options: FleetOptions): Fleet {
    const { clusters: clusterCount, tenants, repositories: repositoryCount, platformShards, nodePullScope } = options;
    if (clusterCount < 1 || tenants < 1 || repositoryCount % tenants !== 0) {
        throw new Error(`fleet ${fleetLabel(options)}: needs at least one cluster and tenant, and repositories a multiple of tenants.`);
    }
    const perTenant = repositoryCount / tenants;
    const partition = partitionOfRegion(REGION);
    const clusters = makeClusters(clusterCount);

    const repositories: RepositorySpec[] = [...PLATFORM_REPOSITORIES.map((name) => ({ name }))];
    const grants: GrantSpec[] = [
        {
            name: PLATFORM_GRANT,
            path: "chaining",
            clusters: clusters.map((c) => c.stackName),
            serviceAccounts: PLATFORM_SERVICE_ACCOUNTS.map((name) => ({ namespace: PLATFORM_NAMESPACE, name })),
            repositories: [...PLATFORM_REPOSITORIES],
            ...(platformShards > 1 ? { shards: platformShards } : {}),
        },
    ];
    for (let t = 0; t < tenants; t++) {
        const name = tenantName(t);
        const names = Array.from({ length: perTenant }, (_, i) => `${name}/app-${i}`);
        repositories.push(...names.map((n) => ({ name: n })));
        grants.push({
            name,
            path: tenantPath(t),
            clusters: tenantClusters(t, clusterCount).map((i) => clusters[i].stackName),
            serviceAccounts: SERVICE_ACCOUNTS_PER_TENANT.map((sa) => ({ namespace: name, name: sa })),
            repositories: names,
        });
    }

    // The last cluster joins the grants `joins` names, after the ones it has by the layout.
    for (const grant of grants.filter((g) => options.joins?.includes(g.name))) {
        const last = clusters[clusters.length - 1].stackName;
        if (!grant.clusters!.includes(last)) {
            grant.clusters!.push(last);
        }
    }

    // Which grants name each cluster, in grant order.
    const grantsOf = new Map<string, GrantSpec[]>(clusters.map((c) => [c.stackName, []]));
    for (const grant of grants) {
        for (const stack of grant.clusters ?? []) {
            grantsOf.get(stack)!.push(grant);
        }
    }

    const workloadsOf = (cluster: FleetCluster): WorkloadSpec[] => (grantsOf.get(cluster.stackName) ?? []).flatMap(workloadsOfGrant);

    const byServiceAccount = (a: WorkloadExport, b: WorkloadExport) => {
        const [x, y] = [`${a.namespace}/${a.serviceAccount}`, `${b.namespace}/${b.serviceAccount}`];
        return x < y ? -1 : x > y ? 1 : 0;
    };
    const exportsOf = (cluster: FleetCluster): WorkloadExport[] =>
        (grantsOf.get(cluster.stackName) ?? [])
            .flatMap((grant) => {
                const path = (grant.path ?? "federation") as AccessPath;
                const roleArn = pullRoleArnForCluster({
                    partition,
                    registryAccountId: REGISTRY_ACCOUNT,
                    grant: grant.name,
                    shards: grant.shards ?? 1,
                    clusterArn: cluster.clusterArn,
                });
                const clusterRoleArn =
                    path === "federation"
                        ? ""
                        : `arn:${partition}:iam::${cluster.accountId}:role/${clusterRoleName(path, grant.name, REGION, cluster.clusterName)}`;
                return grant.serviceAccounts.map((sa) => ({
                    namespace: sa.namespace,
                    serviceAccount: sa.name,
                    grant: grant.name,
                    path,
                    roleArn,
                    clusterRoleArn,
                }));
            })
            .sort(byServiceAccount);

    const references: Record<string, EksStackOutputs> = {};
    for (const cluster of clusters) {
        references[cluster.stackName] = {
            contractVersion: CONTRACT_VERSION,
            oidcIssuerUrl: cluster.issuerUrl,
            oidcThumbprint: "",
            accountId: cluster.accountId,
            region: REGION,
            clusterName: cluster.clusterName,
            clusterArn: cluster.clusterArn,
            nodeRoleArns: [cluster.nodeRoleArn],
            workloads: exportsOf(cluster),
        };
    }

    const ecrConfig: Record<string, unknown> = {
        "ecrpull:clusterStacks": clusters.map((c) => c.stackName),
        "ecrpull:repositories": repositories,
        "ecrpull:grants": grants,
        "ecrpull:tags": TAGS,
        ...(nodePullScope === "accounts" ? { "ecrpull:nodePullScope": "accounts" } : {}),
    };

    return {
        label: fleetLabel(options),
        options,
        registryAccountId: REGISTRY_ACCOUNT,
        region: REGION,
        clusters,
        repositories,
        grants,
        ecrConfig,
        references,
        workloadsOf,
    };
}

/** The registry spec the ECR stack builds from the fleet (its stack outputs read with the contract's own reader). */
export function registrySpecOf(fleet: Fleet): { clusters: ClusterSpec[]; repositories: RepositorySpec[]; grants: GrantSpec[] } {
    const problems = new Problems((path) => path);
    const clusters = fleet.clusters.map((c) => {
        const read = readEksStackOutputs(c.stackName, fleet.references[c.stackName] as unknown as Record<string, unknown>, problems);
        if (!read) {
            throw new Error(`fleet ${fleet.label}: generated outputs of ${c.stackName} do not pass the contract: ${problems.list.join(" ")}`);
        }
        return read.cluster;
    });
    return { clusters, repositories: fleet.repositories, grants: fleet.grants };
}

const planOf = (spec: ReturnType<typeof registrySpecOf>, nodePullScope: "roles" | "accounts"): RegistryPlan =>
    planRegistry(spec, { registryAccountId: REGISTRY_ACCOUNT, region: REGION, partition: partitionOfRegion(REGION), nodePullScope });

export interface FleetPlan {
    readonly options: FleetOptions;
    /** Why the choices were made, for the report. */
    readonly notes: readonly string[];
    /** What the package's own planner still finds over quota; empty for a valid fleet. */
    readonly overBudget: readonly string[];
}

/**
 * Chooses the platform grant's shards and the node pull scope for a size:
 * the fewest shards that keep every platform trust under its limit, and
 * `accounts` only when naming every node role would not fit.
 */
export function planFleet(size: FleetSize): FleetPlan {
    const notes: string[] = [];
    let options: FleetOptions = { ...size, platformShards: 1, nodePullScope: "roles" };

    // Shards: only the platform grant's trust depends on them.
    const base = generateFleet(options);
    const baseSpec = registrySpecOf(base);
    const platformOnly = { ...baseSpec, grants: baseSpec.grants.filter((g) => g.name === PLATFORM_GRANT) };
    let shards = 0;
    for (let s = 1; s <= MAX_SHARDS; s++) {
        const grants = platformOnly.grants.map((g) => ({ ...g, shards: s }));
        const plan = planOf({ ...platformOnly, grants }, "roles");
        if (plan.sizes.every((x) => x.kind !== "trust policy" || x.size <= x.limit)) {
            shards = s;
            break;
        }
    }
    if (shards === 0) {
        notes.push(`no number of shards up to ${MAX_SHARDS} keeps the platform grant's trust policies under the limit; using ${MAX_SHARDS}`);
        shards = MAX_SHARDS;
    } else if (shards > 1) {
        notes.push(`platform grant: ${shards} shards keep each of its trusts under 2,048 characters`);
    }
    options = { ...options, platformShards: shards };

    let plan = planOf(registrySpecOf(generateFleet(options)), "roles");
    const repositoryOver = plan.sizes.filter((s) => s.kind === "repository policy" && s.size > s.limit);
    if (repositoryOver.length > 0) {
        const largest = Math.max(...repositoryOver.map((s) => s.size));
        notes.push(
            `nodePullScope accounts: naming every node role would make ${repositoryOver.length} repository policies up to ${largest.toLocaleString("en-US")} characters (limit 10,240)`,
        );
        options = { ...options, nodePullScope: "accounts" };
        plan = planOf(registrySpecOf(generateFleet(options)), "accounts");
    }
    return { options, notes, overBudget: plan.overBudget };
}

/** The cluster whose EKS stack has the most workloads (the first of equals). */
export function largestCluster(fleet: Fleet): FleetCluster {
    let best = fleet.clusters[0];
    let most = -1;
    for (const cluster of fleet.clusters) {
        const n = fleet.references[cluster.stackName].workloads.length;
        if (n > most) {
            best = cluster;
            most = n;
        }
    }
    return best;
}

/**
 * Workloads of a cluster that runs every tenant of the fleet and the platform
 * (100 tenants x 2 service accounts across the three paths, plus 2): the
 * largest list an EKS stack of such a fleet can get. Its stack is measured on
 * its own; the registry side of this layout is not generated.
 */
export function everyTenantWorkloads(fleet: Fleet): WorkloadSpec[] {
    return fleet.grants.flatMap(workloadsOfGrant);
}

/** Roles in each cluster account (its clusters' chaining and Pod Identity roles): the busiest account's count. */
export function clusterAccountLoad(fleet: Fleet): { accountId: string; clusters: number; roles: number; oidcProviders: number } {
    const byAccount = new Map<string, { clusters: number; roles: Set<string> }>();
    for (const cluster of fleet.clusters) {
        const entry = byAccount.get(cluster.accountId) ?? { clusters: 0, roles: new Set<string>() };
        entry.clusters++;
        for (const w of fleet.references[cluster.stackName].workloads) {
            if (w.clusterRoleArn !== "") {
                entry.roles.add(w.clusterRoleArn);
            }
        }
        byAccount.set(cluster.accountId, entry);
    }
    let busiest = { accountId: "", clusters: 0, roles: -1, oidcProviders: 0 };
    for (const [accountId, entry] of byAccount) {
        if (entry.roles.size > busiest.roles) {
            // Each cluster's own IAM OIDC provider (chaining trusts it) lives in its account.
            busiest = { accountId, clusters: entry.clusters, roles: entry.roles.size, oidcProviders: entry.clusters };
        }
    }
    return busiest;
}

/** The workloads a cluster runs for a grant: each of its service accounts, with the grant's path and shards. */
function workloadsOfGrant(grant: GrantSpec): WorkloadSpec[] {
    return grant.serviceAccounts.map((sa) => ({
        namespace: sa.namespace,
        serviceAccount: sa.name,
        grant: grant.name,
        path: grant.path ?? "federation",
        ...((grant.shards ?? 1) > 1 ? { shards: grant.shards } : {}),
    }));
}
