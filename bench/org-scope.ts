/**
 * Organization scope at fleet size (issue 13, part 4), in a process of its
 * own started by bench/run.ts, so that its peak memory is its own:
 *
 *   node -r ts-node/register/transpile-only bench/org-scope.ts '<JSON size>'
 *
 * The fleet: `clusters` clusters (5 per account), `tenants` tenants with
 * `repositories / tenants` repositories each, every tenant's grant spanning
 * every cluster, on organization scope: tenants take chaining and Pod
 * Identity in turn (federation keeps exact scope, see docs/organization-scope.md),
 * plus the platform grant (chaining). The ECR stack's config names no
 * cluster and lists no cluster stack.
 *
 * Measured, each on the SDK's mock engine:
 * - the ECR program: wall time of the program run alone (module loading and
 *   config generation come first, as in bench/one.ts), peak RSS of this
 *   process, pull roles, OIDC providers, documents over their quota;
 * - a cluster joining: the ECR program run for N and N + 1 clusters, every
 *   registered input diffed, for a cluster joining a chaining and a Pod
 *   Identity tenant; and the new cluster's own EKS stack, which is all that
 *   runs;
 * - the EKS program of a cluster that runs every tenant's workloads.
 *
 * Prints one line: `ORG_RESULT <json>`.
 */
import { policySize } from "../components/iam/policies";
import { DEFAULT_LIMITS } from "../components/iam/quotas";
import { GrantSpec, RepositorySpec } from "../components/registry/spec";
import { RecordedResource } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import {
    FleetSize,
    PLATFORM_GRANT,
    PLATFORM_NAMESPACE,
    PLATFORM_REPOSITORIES,
    PLATFORM_SERVICE_ACCOUNTS,
    REGION,
    REGISTRY_ACCOUNT,
    SERVICE_ACCOUNTS_PER_TENANT,
    TAGS,
    tenantName,
} from "./fleet";

export const ORGANIZATION_ID = "o-exampleorg1";
const ORG_PATHS = ["chaining", "podIdentity"] as const;

export interface OrgResult {
    readonly size: FleetSize;
    /** ECR program run alone, ms; peak RSS of the process, KiB. */
    readonly ecrMs: number;
    readonly maxRssKiB: number;
    readonly pullRoles: number;
    readonly oidcProviders: number;
    readonly repositories: number;
    readonly documents: number;
    readonly overQuota: number;
    readonly stackReferences: number;
    /** Registry resources created, changed, deleted when a cluster joins, per case. */
    readonly growth: readonly { label: string; created: number; changed: number; deleted: number; eksResources: number }[];
    /** The EKS program of a cluster running every tenant: ms, resources registered. */
    readonly eksMs: number;
    readonly eksResources: number;
}

/** Every grant on organization scope, spanning every cluster without naming one. */
function orgGrants(size: FleetSize): { grants: GrantSpec[]; repositories: RepositorySpec[] } {
    const perTenant = size.repositories / size.tenants;
    const scope = { organization: ORGANIZATION_ID };
    const repositories: RepositorySpec[] = PLATFORM_REPOSITORIES.map((name) => ({ name }));
    const grants: GrantSpec[] = [
        {
            name: PLATFORM_GRANT,
            path: "chaining",
            scope,
            serviceAccounts: PLATFORM_SERVICE_ACCOUNTS.map((name) => ({ namespace: PLATFORM_NAMESPACE, name })),
            repositories: [...PLATFORM_REPOSITORIES],
        },
    ];
    for (let t = 0; t < size.tenants; t++) {
        const name = tenantName(t);
        const names = Array.from({ length: perTenant }, (_, i) => `${name}/app-${i}`);
        repositories.push(...names.map((n) => ({ name: n })));
        grants.push({
            name,
            path: ORG_PATHS[t % ORG_PATHS.length],
            scope,
            serviceAccounts: SERVICE_ACCOUNTS_PER_TENANT.map((sa) => ({ namespace: name, name: sa })),
            repositories: names,
        });
    }
    return { grants, repositories };
}

/** The ECR stack's config: no cluster stack, since no grant lists a cluster. */
export function orgEcrConfig(size: FleetSize): Record<string, unknown> {
    const { grants, repositories } = orgGrants(size);
    return { "ecrpull:clusterStacks": [], "ecrpull:repositories": repositories, "ecrpull:grants": grants, "ecrpull:tags": TAGS };
}

const custom = (resources: readonly RecordedResource[]) => resources.filter((r) => r.custom && !r.type.startsWith("pulumi:"));

async function registry(size: FleetSize) {
    return runEcrStack({ config: orgEcrConfig(size), accountId: REGISTRY_ACCOUNT, region: REGION }, {});
}

/** Cluster `index` of the fleet, as an adopted cluster whose node role carries the tags of `grants`. */
function clusterStack(index: number, size: FleetSize, grants: readonly string[]) {
    const accountId = String(200000000000 + Math.floor(index / 5) * 1001);
    const clusterName = `eks-${String(index).padStart(4, "0")}`;
    const { grants: definitions } = orgGrants(size);
    const tags = Object.fromEntries(grants.map((g) => [`ecrpull.dev/node-pull/${g}`, "true"]));
    const byName = new Map(definitions.map((g) => [g.name, g]));
    return {
        name: `acme/ecrpull/${clusterName}`,
        accountId,
        region: REGION,
        existingClusters: {
            [clusterName]: { issuerUrl: `https://oidc.eks.${REGION}.amazonaws.com/id/${String(index).padStart(32, "C")}`, addons: ["eks-pod-identity-agent"] },
        },
        existingRoles: { [`${clusterName}-nodes`]: { tags } },
        config: {
            "ecrpull:registryAccountId": REGISTRY_ACCOUNT,
            "ecrpull:cluster": { name: clusterName, create: false, nodeRoleArns: [`arn:aws:iam::${accountId}:role/${clusterName}-nodes`] },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:grants": definitions,
            "ecrpull:workloads": grants.flatMap((g) =>
                byName.get(g)!.serviceAccounts.map((sa) => ({ namespace: sa.namespace, serviceAccount: sa.name, grant: g })),
            ),
        },
    };
}

export async function measureOrgScope(size: FleetSize): Promise<OrgResult> {
    const started = process.hrtime.bigint();
    const run = await registry(size);
    const ecrMs = Number(process.hrtime.bigint() - started) / 1e6;
    const maxRssKiB = process.resourceUsage().maxRSS;
    const resources = custom(run.resources);
    const documents: { size: number; limit: number }[] = resources.flatMap((r) => {
        if (r.type === "aws:iam/role:Role") {
            return [{ size: policySize(String(r.inputs.assumeRolePolicy)), limit: DEFAULT_LIMITS.trustPolicy }];
        }
        if (r.type === "aws:iam/rolePolicy:RolePolicy") {
            return [{ size: policySize(String(r.inputs.policy)), limit: DEFAULT_LIMITS.rolePolicy }];
        }
        if (r.type === "aws:ecr/repositoryPolicy:RepositoryPolicy") {
            return [{ size: policySize(String(r.inputs.policy)), limit: DEFAULT_LIMITS.repositoryPolicy }];
        }
        if (r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy") {
            return [{ size: policySize(String(r.inputs.policy)), limit: DEFAULT_LIMITS.lifecyclePolicy }];
        }
        return [];
    });

    // A cluster joining: the registry's inputs at N and N + 1 clusters, and the new cluster's own stack.
    const inputs = (rs: readonly RecordedResource[]) => new Map(custom(rs).map((r) => [r.urn, JSON.stringify(r.inputs)]));
    const before = inputs(run.resources);
    const growth = [];
    for (const [label, joins] of [
        ["joining a chaining tenant and the platform grant", [PLATFORM_GRANT, tenantName(1)]],
        ["joining a Pod Identity tenant and the platform grant", [PLATFORM_GRANT, tenantName(0)]],
    ] as const) {
        const grown = { ...size, clusters: size.clusters + 1 };
        const after = inputs((await registry(grown)).resources);
        const eks = await runEksStack(clusterStack(size.clusters, grown, joins));
        growth.push({
            label,
            created: [...after.keys()].filter((u) => !before.has(u)).length,
            deleted: [...before.keys()].filter((u) => !after.has(u)).length,
            changed: [...after.keys()].filter((u) => before.has(u) && before.get(u) !== after.get(u)).length,
            eksResources: custom(eks.resources).length,
        });
    }

    // A cluster that runs every tenant's workloads.
    const every = [PLATFORM_GRANT, ...Array.from({ length: size.tenants }, (_, t) => tenantName(t))];
    const eksStarted = process.hrtime.bigint();
    const eks = await runEksStack(clusterStack(0, size, every));
    const eksMs = Number(process.hrtime.bigint() - eksStarted) / 1e6;

    return {
        size,
        ecrMs,
        maxRssKiB,
        pullRoles: resources.filter((r) => r.type === "aws:iam/role:Role").length,
        oidcProviders: resources.filter((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length,
        repositories: resources.filter((r) => r.type === "aws:ecr/repository:Repository").length,
        documents: documents.length,
        overQuota: documents.filter((d) => d.size > d.limit).length,
        stackReferences: run.resources.filter((r) => r.type === "pulumi:pulumi:StackReference").length,
        growth,
        eksMs,
        eksResources: custom(eks.resources).length,
    };
}

if (require.main === module) {
    const size = JSON.parse(process.argv[2]) as FleetSize;
    measureOrgScope(size).then(
        (result) => process.stdout.write(`ORG_RESULT ${JSON.stringify(result)}\n`),
        (error: unknown) => {
            process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
            process.exit(1);
        },
    );
}
