/**
 * What a fleet's growth costs the registry stack, measured by running the
 * ECR program (in this process, on the mock engine) before and after and
 * diffing every registered input:
 *
 * - adding one cluster to the target fleet, once for each grant path it
 *   joins (besides the platform grant, which spans every cluster): the
 *   registry resources created, changed and deleted, held against what
 *   exact scope allows (the roles and repositories of the new cluster's
 *   grants, and a federated grant's OIDC provider for its issuer);
 * - fleets laid out as a user would first write them (the platform grant in
 *   one role, every node role named), and what the preview says of them:
 *   the layout of `npm run bench` is chosen by the package's own planner,
 *   so "0 documents over quota" there is built in.
 *
 * Not timed: counts only. Organization scope, where a new cluster should
 * change nothing in the registry, is not built yet (issue 13).
 */
import { ProgramRun, RecordedResource } from "../tools/engine/mock-engine";
import { runEcrStack } from "../tools/engine/two-stacks";
import {
    Fleet,
    FleetOptions,
    FleetSize,
    generateFleet,
    PLATFORM_GRANT,
    planFleet,
    registrySpecOf,
    tenantName,
    tenantPath,
    REGION,
    REGISTRY_ACCOUNT,
} from "./fleet";
import { planRegistry } from "../components/registry/plan";
import { partitionOfRegion } from "../components/iam/names";

export interface GrowthCase {
    readonly label: string;
    readonly joins: readonly string[];
    readonly created: readonly string[];
    readonly changed: readonly string[];
    readonly deleted: readonly string[];
    /** Resources outside what exact scope allows for the new cluster's grants; empty when it holds. */
    readonly beyond: readonly string[];
}

const registryResources = (run: ProgramRun<unknown>) =>
    new Map(run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:")).map((r: RecordedResource) => [r.urn, JSON.stringify(r.inputs)]));

async function runRegistry(fleet: Fleet): Promise<ProgramRun<unknown>> {
    return runEcrStack(
        { config: fleet.ecrConfig, accountId: fleet.registryAccountId, region: fleet.region },
        fleet.references as unknown as Record<string, Record<string, unknown>>,
    );
}

/** The logical names exact scope lets a new cluster touch: its grants' roles, their repositories' policies, a federated grant's provider. */
function allowedNames(fleet: Fleet, joined: readonly string[]): (name: string) => boolean {
    const grants = fleet.grants.filter((g) => joined.includes(g.name));
    const repositories = new Set(grants.flatMap((g) => g.repositories));
    const newCluster = fleet.clusters[fleet.clusters.length - 1];
    const issuer = newCluster.issuerUrl.replace(/^https:\/\//, "");
    return (name) =>
        grants.some((g) => name === `registry-${g.name}-role` || name.startsWith(`registry-${g.name}.`)) ||
        [...repositories].some((r) => name === `registry-${r}-policy`) ||
        name === `registry-oidc-${issuer}`;
}

export async function measureGrowth(size: FleetSize): Promise<GrowthCase[]> {
    const { options } = planFleet(size);
    const before = registryResources(await runRegistry(generateFleet(options)));
    // The first tenant of each path (tenants take the paths in turn).
    const firstOf = (path: string) => tenantName([0, 1, 2].find((t) => tenantPath(t) === path)!);
    const cases: { label: string; joins: string[] }[] = [
        { label: "platform grant only (chaining, sharded)", joins: [] },
        { label: "and a federation grant", joins: [firstOf("federation")] },
        { label: "and a chaining grant", joins: [firstOf("chaining")] },
        { label: "and a podIdentity grant", joins: [firstOf("podIdentity")] },
    ];
    const results: GrowthCase[] = [];
    for (const c of cases) {
        const grown: FleetOptions = { ...options, clusters: options.clusters + 1, joins: c.joins };
        const fleet = generateFleet(grown);
        const after = registryResources(await runRegistry(fleet));
        const created = [...after.keys()].filter((u) => !before.has(u));
        const deleted = [...before.keys()].filter((u) => !after.has(u));
        const changed = [...after.keys()].filter((u) => before.has(u) && before.get(u) !== after.get(u));
        const allowed = allowedNames(fleet, [PLATFORM_GRANT, ...c.joins]);
        const nameOf = (urn: string) => urn.split("::").pop()!;
        const beyond = [...created, ...deleted, ...changed].map(nameOf).filter((n) => !allowed(n));
        results.push({ label: c.label, joins: c.joins, created: created.map(nameOf), changed: changed.map(nameOf), deleted: deleted.map(nameOf), beyond });
    }
    return results;
}

/** A fleet as first written: one platform role, every node role named; what the package's planner (the preview) says. */
export function asWritten(size: FleetSize): { problems: number; first: string[] } {
    const fleet = generateFleet({ ...size, platformShards: 1, nodePullScope: "roles" });
    const plan = planRegistry(registrySpecOf(fleet), { registryAccountId: REGISTRY_ACCOUNT, region: REGION, partition: partitionOfRegion(REGION) });
    return { problems: plan.overBudget.length, first: plan.overBudget.slice(0, 2) };
}

/** Run as a child of bench/run.ts: `GROWTH_RESULT <json>` for the size given as JSON. */
if (require.main === module) {
    const size = JSON.parse(process.argv[2]) as FleetSize;
    void measureGrowth(size).then((cases) => {
        const written = [size, { clusters: 300, tenants: 100, repositories: 1000 }].map((s) => ({ size: s, ...asWritten(s) }));
        process.stdout.write(`GROWTH_RESULT ${JSON.stringify({ cases, written })}\n`);
    });
}
