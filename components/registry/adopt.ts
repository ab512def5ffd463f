/**
 * Adopting what already exists in the registry account: IAM OIDC providers,
 * repositories (with their images) and pull roles made by hand or by the
 * seed recipes. IAM refuses a second OIDC provider for an issuer and ECR a
 * second repository of a name (docs/aws-facts.md), so without adoption the
 * first `pulumi up` fails on them.
 *
 * Adopting changes no logical name, type or parent: the resources are the
 * ones the program registers anyway, taken into the stack once with
 * `pulumi import --file` (the file `ecrpull plan --import-file` writes), and
 * from then on retained on delete, since the stack did not create them.
 */
import { asArray, asRecord, checkKnownKeys, checkUnique, Problems, stringItem } from "../validation";
import { DEFAULT_ACCESS_PATH, PULL_ROLE_NAME_PREFIX } from "../iam/names";
import { RegistryPlan } from "./plan";
import { RegistrySpec } from "./spec";

/** What exists already and is to be taken over rather than created. */
export interface AdoptSpec {
    /**
     * IAM OIDC providers of the registry account that the federated grants'
     * clusters need: by ARN
     * (`arn:aws:iam::<registry>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>`),
     * by issuer URL, or by cluster (its EKS stack's name, as in
     * `clusterStacks`): the provider of that cluster's issuer.
     */
    readonly oidcProviders?: string[];
    /**
     * Repositories of `repositories` that exist already: adopted with every
     * image they hold. A replica that exists (a replication set up by hand)
     * is named `<name>@<region>`.
     */
    readonly repositories?: string[];
    /**
     * Pull roles that exist already under the name this package gives them,
     * by grant (`ecr-pull-<grant>`), or `<grant>.<shard>` for a sharded grant's
     * further roles. A role of another name cannot be adopted: IAM cannot
     * rename a role, and the EKS stacks derive the name.
     */
    readonly pullRoles?: string[];
}

/** The adopted resources, resolved against the plan. */
export interface Adopted {
    /** Issuer URLs whose OIDC providers are adopted. */
    readonly issuerUrls: ReadonlySet<string>;
    /** Repository names, and `<name>@<region>` for replicas. */
    readonly repositories: ReadonlySet<string>;
    /** Role names (`ecr-pull-...`). */
    readonly roleNames: ReadonlySet<string>;
}

export const NOTHING_ADOPTED: Adopted = { issuerUrls: new Set(), repositories: new Set(), roleNames: new Set() };

/** What the registry would create, as adoption entries name it. */
export interface AdoptionTargets {
    /** Issuers whose OIDC providers the federated grants need. */
    readonly issuerUrls: readonly string[];
    /** The issuer of each cluster of a federated grant, by cluster name. */
    readonly issuerOfCluster: Readonly<Record<string, string>>;
    readonly repositoryNames: readonly string[];
    /** `grant`, or `grant.<shard>` for a sharded grant's further roles. */
    readonly roleKeys: readonly string[];
}

export function adoptionTargetsOfPlan(plan: RegistryPlan): AdoptionTargets {
    return {
        issuerUrls: plan.providers.map((p) => p.issuerUrl),
        issuerOfCluster: Object.fromEntries(plan.providers.flatMap((p) => p.clusters.map((c) => [c, p.issuerUrl]))),
        repositoryNames: plan.repositories.flatMap((r) => [r.settings.name, ...r.replicas.map((replica) => `${r.settings.name}@${replica.region}`)]),
        roleKeys: plan.roles.map((r) => r.roleName.slice(PULL_ROLE_NAME_PREFIX.length)),
    };
}

/** The same targets from a validated spec, for a stack that checks its config before planning. */
export function adoptionTargetsOfSpec(spec: RegistrySpec): AdoptionTargets {
    const federated = new Set(spec.grants.filter((g) => (g.path ?? DEFAULT_ACCESS_PATH) === "federation").flatMap((g) => g.clusters));
    const clusters = spec.clusters.filter((c) => federated.has(c.name));
    return {
        issuerUrls: [...new Set(clusters.map((c) => c.issuerUrl))].sort(),
        issuerOfCluster: Object.fromEntries(clusters.map((c) => [c.name, c.issuerUrl])),
        repositoryNames: spec.repositories.flatMap((r) => [r.name, ...[...new Set(spec.replicaRegions ?? [])].map((region) => `${r.name}@${region}`)]),
        roleKeys: spec.grants.flatMap((g) => Array.from({ length: g.shards ?? 1 }, (_, shard) => (shard === 0 ? g.name : `${g.name}.${shard}`))),
    };
}

const ADOPT_KEYS = ["oidcProviders", "repositories", "pullRoles"];
const OIDC_PROVIDER_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):oidc-provider\/(.+)$/;

/**
 * Checks an adopt spec whose values may come from untyped config, and
 * resolves each entry against the plan: an entry that names nothing the
 * plan would create is refused, since adopting it would do nothing (or, for
 * a provider of another account, could not be done).
 */
export function resolveAdopted(value: unknown, targets: AdoptionTargets, registryAccountId: string, problems: Problems, key = "adopt"): Adopted {
    if (value === undefined) {
        return NOTHING_ADOPTED;
    }
    const adopt = asRecord(problems, key, value, "oidcProviders, repositories, pullRoles");
    if (!adopt) {
        return NOTHING_ADOPTED;
    }
    checkKnownKeys(problems, key, adopt, ADOPT_KEYS);
    const list = (field: string, what: string) => {
        if (adopt[field] === undefined) {
            return [];
        }
        const items = asArray(problems, `${key}.${field}`, adopt[field], what) ?? [];
        checkUnique(problems, `${key}.${field}`, items, stringItem, what.replace(/s$/, ""));
        return items;
    };

    const issuerUrls = new Set<string>();
    const federatedIssuers = targets.issuerUrls.map((url) => JSON.stringify(url)).join(", ") || "none: no grant has path federation";
    list("oidcProviders", "OIDC provider ARNs, issuer URLs or cluster names").forEach((item, i) => {
        const at = `${key}.oidcProviders[${i}]`;
        const arn = typeof item === "string" ? OIDC_PROVIDER_ARN.exec(item) : null;
        const url = arn ? `https://${arn[3]}` : typeof item === "string" ? (targets.issuerOfCluster[item] ?? item) : item;
        if (arn && arn[2] !== registryAccountId) {
            problems.add(
                at,
                item,
                `is in account ${arn[2]}, not in the registry account ${registryAccountId}: only the registry account's own providers can be adopted.`,
            );
        } else if (typeof url !== "string" || !targets.issuerUrls.includes(url)) {
            problems.add(
                at,
                item,
                `is not the provider of an issuer a federated grant needs, so there is nothing to adopt it as: use the ARN or issuer URL of one of them (${federatedIssuers}), or the name of a cluster of a federated grant.`,
            );
        } else {
            issuerUrls.add(url);
        }
    });

    const repositories = new Set<string>();
    list("repositories", "repository names").forEach((item, i) => {
        if (typeof item !== "string" || !targets.repositoryNames.includes(item)) {
            problems.add(
                `${key}.repositories[${i}]`,
                item,
                `is not one of the repositories listed, nor a replica of one (<name>@<replica region>): add it to repositories (with the settings it has) to adopt it.`,
            );
        } else {
            repositories.add(item);
        }
    });

    const roleNames = new Set<string>();
    const roleKeys = targets.roleKeys;
    list("pullRoles", "grant names").forEach((item, i) => {
        if (typeof item !== "string" || !roleKeys.includes(item)) {
            const hint =
                typeof item === "string" && item.startsWith(PULL_ROLE_NAME_PREFIX)
                    ? ` Name the grant, not the role: "${item.slice(PULL_ROLE_NAME_PREFIX.length)}".`
                    : "";
            problems.add(
                `${key}.pullRoles[${i}]`,
                item,
                `is not the key of a pull role this registry has (${roleKeys.map((k) => JSON.stringify(k)).join(", ") || "none"}).${hint}`,
            );
        } else {
            roleNames.add(`${PULL_ROLE_NAME_PREFIX}${item}`);
        }
    });
    return { issuerUrls, repositories, roleNames };
}

/** The adoption key of a repository in a region: its name in the registry's region, `<name>@<region>` in a replica region. */
export function repositoryAdoptionKey(name: string, region: string | undefined): string {
    return region === undefined ? name : `${name}@${region}`;
}

/** Whether anything is adopted. */
export function adoptsAnything(adopted: Adopted): boolean {
    return adopted.issuerUrls.size + adopted.repositories.size + adopted.roleNames.size > 0;
}
