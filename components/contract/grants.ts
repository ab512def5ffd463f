/**
 * Grants written once: both programs may read the same `ecrpull:grants`
 * (for instance from a Pulumi ESC environment every stack file imports), so
 * an EKS stack learns each grant's path and number of shards from the
 * grant's definition instead of from fields repeated on every workload. A
 * workload then names its namespace, service account and grant.
 *
 * Workloads of release 0.2 restate `path` and `shards`: they keep working
 * while they agree with the definition, with a notice saying to drop them;
 * a restated value that disagrees is refused, since the registry writes the
 * pull roles for the definition's.
 */
import { WorkloadSpec } from "../cluster/spec";
import { ACCESS_PATHS, checkGrantName, DEFAULT_ACCESS_PATH, MAX_SHARDS } from "../iam/names";
import { asArray, asRecord, checkIntegerInRange, checkOneOf, Problems } from "../validation";
import { checkOrganizationScope, OrganizationScope } from "../iam/org-scope";

/** What an EKS stack needs of a grant's definition. */
export interface GrantDefinition {
    readonly name: string;
    readonly path: string;
    readonly shards: number;
    /** Set for an organization-scoped grant: its cluster-side roles then sit at IAM path `/ecrpull/<grant>/`. */
    readonly scope?: OrganizationScope;
}

/**
 * Reads the grant definitions an EKS stack sees. Only what the cluster side
 * uses is checked here (name, path, shards); the registry's program checks
 * the rest (clusters, service accounts, repositories) against what it knows.
 */
export function readGrantDefinitions(value: unknown, problems: Problems, key = "grants"): Map<string, GrantDefinition> {
    const definitions = new Map<string, GrantDefinition>();
    const grants = asArray(problems, key, value, "grants");
    grants?.forEach((item, i) => {
        const at = `${key}[${i}]`;
        const grant = asRecord(problems, at, item, "name, path, clusters, serviceAccounts, repositories");
        if (!grant) {
            return;
        }
        const before = problems.list.length;
        checkGrantName(problems, `${at}.name`, grant.name);
        if (grant.path !== undefined) {
            checkOneOf(problems, `${at}.path`, grant.path, ACCESS_PATHS);
        }
        if (grant.shards !== undefined) {
            checkIntegerInRange(problems, `${at}.shards`, grant.shards, 1, MAX_SHARDS);
        }
        const scope = grant.scope === undefined ? undefined : checkOrganizationScope(problems, `${at}.scope`, grant.scope);
        if (scope && (grant.path ?? DEFAULT_ACCESS_PATH) === "federation") {
            problems.add(`${at}.scope`, grant.scope, 'applies to paths "chaining" and "podIdentity" only: "federation" keeps exact scope (list its clusters).');
        }
        if (problems.list.length === before) {
            const name = grant.name as string;
            definitions.set(name, {
                name,
                path: (grant.path as string | undefined) ?? DEFAULT_ACCESS_PATH,
                shards: (grant.shards as number | undefined) ?? 1,
                ...(scope ? { scope } : {}),
            });
        }
    });
    return definitions;
}

/**
 * Workloads with the path and shards of their grants' definitions. Returns
 * the workloads, and one notice per workload that restates them (0.2).
 */
export function withGrantDefinitions(
    workloads: readonly WorkloadSpec[],
    definitions: ReadonlyMap<string, GrantDefinition>,
    problems: Problems,
    key = "workloads",
): { workloads: WorkloadSpec[]; notices: string[] } {
    const notices: string[] = [];
    const known = [...definitions.keys()]
        .sort()
        .map((name) => JSON.stringify(name))
        .join(", ");
    const resolved = workloads.map((workload, i) => {
        const at = `${key}[${i}]`;
        const definition = definitions.get(workload.grant);
        if (!definition) {
            problems.add(
                `${at}.grant`,
                workload.grant,
                `is not defined in ecrpull:grants, which this stack reads: use one of the grants defined there (${known || "none are"}).`,
            );
            return workload;
        }
        const restated: string[] = [];
        for (const [field, value] of [
            ["path", definition.path],
            ["shards", definition.shards],
        ] as const) {
            const given = workload[field];
            if (given === undefined) {
                continue;
            }
            if (given !== value) {
                problems.add(
                    `${at}.${field}`,
                    given,
                    `differs from grant "${definition.name}"'s ${field} ${JSON.stringify(value)} in ecrpull:grants, which the registry's pull roles are written for: remove ${field} from the workload, and change the grant's definition if ${JSON.stringify(given)} is meant.`,
                );
            }
            restated.push(field);
        }
        if (restated.length > 0) {
            notices.push(
                `${problems.key(at)} restates ${restated.join(" and ")} of grant "${definition.name}", which this stack now reads from ecrpull:grants: remove ${restated.join(" and ")} from the workload (release 0.2's form; it keeps working while the two agree).`,
            );
        }
        return { ...workload, path: definition.path, shards: definition.shards };
    });
    return { workloads: resolved, notices };
}
