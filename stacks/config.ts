/**
 * Reads and checks each stack's config. Every key is checked, and every
 * problem reported at once, before the program creates anything.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterLimits } from "../components/cluster/plan";
import { checkAdoptedNodeRoleArns, checkManagedClusterSettings } from "../components/cluster/settings";
import { validateWorkloads, WorkloadSpec } from "../components/cluster/spec";
import { GrantSpec, RepositorySpec } from "../components/registry/spec";
import { GrantDefinition, readGrantDefinitions, withGrantDefinitions } from "../components/contract/grants";
import { checkLimits } from "../components/iam/quotas";
import {
    asArray,
    asRecord,
    checkAccountId,
    checkBoolean,
    checkClusterName,
    checkKnownKeys,
    checkOneOf,
    checkStackName,
    checkTags,
    checkUnique,
    configKey,
    isStackName,
    Problems,
    stringItem,
} from "../components/validation";

/** The config namespace: the project's name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "ecrpull";

/** The stack's config in the `ecrpull` namespace. */
export interface ConfigReader {
    /** A key's value: lists, mappings and booleans parsed, everything else as written. */
    get(key: string): unknown;
    /** The keys that are set, without the namespace. */
    keys(): string[];
    /** Keys of every other namespace, in full (`aws:region`): a typo of this one's lands there. */
    otherKeys?(): string[];
}

export function pulumiConfigReader(): ConfigReader {
    const config = new pulumi.Config(CONFIG_NAMESPACE);
    return {
        get: (key) => {
            const text = config.get(key);
            if (text === undefined) {
                return undefined;
            }
            // The CLI hands every value over as text: structured values as
            // JSON, scalars as they were written. Parse only what is
            // structured, so that "111122223333" stays a string, not a number.
            if (/^\s*[[{]/.test(text) || text === "true" || text === "false") {
                try {
                    return JSON.parse(text);
                } catch {
                    return text;
                }
            }
            return text;
        },
        keys: () =>
            Object.keys(pulumi.runtime.allConfig())
                .filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:`))
                .map((k) => k.slice(CONFIG_NAMESPACE.length + 1)),
        otherKeys: () => Object.keys(pulumi.runtime.allConfig()).filter((k) => !k.startsWith(`${CONFIG_NAMESPACE}:`)),
    };
}

// ---- EKS stack ------------------------------------------------------------

export interface ClusterConfig {
    readonly name: string;
    /** true: create the cluster with @pulumi/eks; false: adopt an existing one. */
    readonly create: boolean;
    readonly nodeRoleArns: string[];
    readonly version?: string;
    readonly instanceType?: string;
    readonly desiredCapacity?: number;
    readonly minSize?: number;
    readonly maxSize?: number;
    readonly vpcId?: string;
    readonly subnetIds?: readonly string[];
    /** Adopted clusters, chained grants: "existing" (default) checks the cluster account's IAM OIDC provider; "create" creates it. */
    readonly oidcProvider: string;
    /** Adopted clusters, Pod Identity grants: "present" (default) checks the agent add-on; "install" installs it. */
    readonly podIdentityAgent: string;
}

export interface EksStackConfig {
    readonly registryAccountId: string;
    readonly cluster: ClusterConfig;
    /** "fetch" (default) computes the issuer's thumbprint over TLS; "omit" leaves it out. */
    readonly oidcThumbprint: "fetch" | "omit";
    readonly createNamespaces: boolean;
    readonly workloads: WorkloadSpec[];
    /** Quota overrides for a cluster account that raised its quotas. */
    readonly limits?: Partial<ClusterLimits>;
    /** What the preview should say about the config that still works (release 0.2's forms). */
    readonly notices: readonly string[];
    /** The grants ecrpull:grants defines with an organization scope: their roles here go at IAM path `/ecrpull/<grant>/`. */
    readonly orgScopedGrants: readonly string[];
    /** Organization-scoped grants whose images this cluster's nodes pull: its node roles carry their node-pull tags. */
    readonly nodePullGrants: readonly string[];
}

/** `grants`: the definitions both programs may read (components/contract/grants.ts); the EKS program takes each grant's path and shards from them. */
/** `nodePullGrants`: organization-scoped grants whose images the nodes pull, besides those of the workloads. */
const EKS_KEYS = ["program", "registryAccountId", "cluster", "oidcThumbprint", "createNamespaces", "workloads", "limits", "grants", "nodePullGrants"];
/** The quotas of the cluster account's documents (see `ClusterLimits`). */
const EKS_LIMIT_KEYS = ["trustPolicy", "rolePolicy"] as const;
const CLUSTER_KEYS = [
    "name",
    "create",
    "nodeRoleArns",
    "oidcProvider",
    "podIdentityAgent",
    "version",
    "instanceType",
    "desiredCapacity",
    "minSize",
    "maxSize",
    "vpcId",
    "subnetIds",
];

export function readEksStackConfig(config: ConfigReader, stack: string): EksStackConfig {
    const problems = new Problems(configKey(CONFIG_NAMESPACE));
    checkUnknownKeys(config, problems, EKS_KEYS, "EKS");
    const read = config.get;
    const registryAccountId = read("registryAccountId");
    if (registryAccountId === undefined) {
        problems.missing("registryAccountId", "set it to the 12-digit ID of the account that holds the ECR repositories.");
    } else {
        checkAccountId(problems, "registryAccountId", registryAccountId);
    }

    const rawCluster = read("cluster");
    let cluster: ClusterConfig | undefined;
    if (rawCluster === undefined) {
        problems.missing("cluster", "set { name, create } (and nodeRoleArns for an existing cluster).");
    } else {
        const record = asRecord(problems, "cluster", rawCluster, "name, create and nodeRoleArns");
        if (record) {
            cluster = checkClusterConfig(record, problems);
        }
    }

    const oidcThumbprint = read("oidcThumbprint") ?? "fetch";
    checkOneOf(problems, "oidcThumbprint", oidcThumbprint, ["fetch", "omit"]);
    const createNamespaces = read("createNamespaces") ?? false;
    checkBoolean(problems, "createNamespaces", createNamespaces);
    let workloads = read("workloads") ?? [];
    validateWorkloads(workloads, problems);
    let notices: string[] = [];
    const grants = read("grants");
    const definitions = grants !== undefined ? readGrantDefinitions(grants, problems) : undefined;
    // Workloads take their grants' path and shards only once both are sound.
    if (definitions && problems.list.length === 0) {
        ({ workloads, notices } = withGrantDefinitions(workloads as WorkloadSpec[], definitions, problems));
    }
    const scoped = [...(definitions?.values() ?? [])].filter((d) => d.scope).map((d) => d.name);
    const nodePullGrants = readNodePullGrants(read("nodePullGrants"), definitions, problems);
    const limits = read("limits");
    checkLimits(problems, "limits", limits, EKS_LIMIT_KEYS);
    problems.throwIfAny(`Stack "${stack}" (EKS program)`);
    const workloadGrants = (workloads as WorkloadSpec[]).map((w) => w.grant).filter((g) => scoped.includes(g));

    return {
        registryAccountId: registryAccountId as string,
        cluster: cluster!,
        oidcThumbprint: oidcThumbprint as "fetch" | "omit",
        createNamespaces: createNamespaces as boolean,
        workloads: workloads as WorkloadSpec[],
        limits: limits as Partial<ClusterLimits> | undefined,
        notices,
        orgScopedGrants: scoped.sort(),
        nodePullGrants: [...new Set([...workloadGrants, ...nodePullGrants])].sort(),
    };
}

/**
 * `nodePullGrants`: organization-scoped grants whose images this cluster's
 * nodes pull without a workload of the grant here. Exact-scope grants list
 * their clusters in the registry's config instead, so only grants that
 * ecrpull:grants defines with a scope may be named.
 */
function readNodePullGrants(value: unknown, definitions: ReadonlyMap<string, GrantDefinition> | undefined, problems: Problems): string[] {
    if (value === undefined) {
        return [];
    }
    const list = asArray(problems, "nodePullGrants", value, "grant names");
    if (!list) {
        return [];
    }
    if (!definitions) {
        problems.raw(
            "nodePullGrants",
            "needs the grant definitions: import the environment that defines ecrpull:grants (or set it), so that this stack knows each grant's scope.",
        );
        return [];
    }
    const scoped = [...definitions.values()].filter((d) => d.scope).map((d) => JSON.stringify(d.name));
    list.forEach((grant, i) => {
        const definition = typeof grant === "string" ? definitions.get(grant) : undefined;
        if (!definition?.scope) {
            problems.add(
                `nodePullGrants[${i}]`,
                grant,
                `is not a grant with an organization scope in ecrpull:grants (${scoped.join(", ") || "none has one"}): a grant of exact scope lists its clusters in the registry's ecrpull:grants, which gives their nodes its images.`,
            );
        }
    });
    checkUnique(problems, "nodePullGrants", list, stringItem, "grant");
    return list.filter((g): g is string => typeof g === "string");
}

function checkClusterConfig(record: Record<string, unknown>, problems: Problems): ClusterConfig {
    checkKnownKeys(problems, "cluster", record, CLUSTER_KEYS);
    checkClusterName(problems, "cluster.name", record.name);
    const create = record.create ?? false;
    checkBoolean(problems, "cluster.create", create);
    let nodeRoleArns: unknown = record.nodeRoleArns ?? [];
    if (create === false && record.nodeRoleArns === undefined) {
        checkAdoptedNodeRoleArns(problems, "cluster.nodeRoleArns", undefined);
    } else if (create === true && record.nodeRoleArns !== undefined) {
        problems.raw("cluster.nodeRoleArns", "is set, but a created cluster gets its own node role: remove it, or set cluster.create to false.");
    } else {
        const list = asArray(problems, "cluster.nodeRoleArns", record.nodeRoleArns ?? [], "node role ARNs");
        if (list) {
            checkAdoptedNodeRoleArns(problems, "cluster.nodeRoleArns", list);
        }
        nodeRoleArns = list ?? [];
    }
    const adoptionKeys = { oidcProvider: ["existing", "create"], podIdentityAgent: ["present", "install"] };
    for (const [key, allowed] of Object.entries(adoptionKeys)) {
        if (record[key] !== undefined && create === true) {
            problems.raw(
                `cluster.${key}`,
                "is set, but applies only to an existing cluster: a created cluster gets its own IAM OIDC provider and the Pod Identity agent. Remove it, or set cluster.create to false.",
            );
        } else if (record[key] !== undefined) {
            checkOneOf(problems, `cluster.${key}`, record[key], allowed);
        }
    }
    const createdOnly = ["version", "instanceType", "desiredCapacity", "minSize", "maxSize", "vpcId", "subnetIds"];
    if (create === true) {
        checkManagedClusterSettings(problems, (field) => `cluster.${field}`, record);
    } else if (create === false) {
        for (const key of createdOnly.filter((k) => record[k] !== undefined)) {
            problems.raw(
                `cluster.${key}`,
                "is set, but applies only to a cluster this stack creates (cluster.create: true): remove it, or set cluster.create to true.",
            );
        }
    }
    return {
        name: record.name as string,
        create: create === true,
        nodeRoleArns: nodeRoleArns as string[],
        version: record.version as string | undefined,
        instanceType: record.instanceType as string | undefined,
        desiredCapacity: record.desiredCapacity as number | undefined,
        minSize: record.minSize as number | undefined,
        maxSize: record.maxSize as number | undefined,
        vpcId: record.vpcId as string | undefined,
        subnetIds: record.subnetIds as string[] | undefined,
        oidcProvider: (record.oidcProvider as string | undefined) ?? "existing",
        podIdentityAgent: (record.podIdentityAgent as string | undefined) ?? "present",
    };
}

// ---- ECR stack ------------------------------------------------------------

export interface EcrStackConfig {
    /** Fully qualified names of the EKS stacks to read (`org/project/stack`). */
    readonly clusterStacks: readonly string[];
    /** Quota overrides for an account that raised its quotas. */
    readonly limits?: Record<string, number>;
    /** `roles` (default) or `accounts`. */
    readonly nodePullScope?: string;
    readonly repositories: RepositorySpec[];
    readonly grants: GrantSpec[];
    readonly tags: Readonly<Record<string, string>>;
    /** OIDC providers, repositories and pull roles that exist already (`AdoptSpec`); checked against the registry's plan. */
    readonly adopt?: unknown;
    /** Regions to replicate every repository to; checked with the repositories. */
    readonly replicaRegions?: unknown;
}

const ECR_KEYS = ["program", "clusterStacks", "repositories", "grants", "limits", "nodePullScope", "tags", "adopt", "replicaRegions"];

/**
 * Checks the keys the ECR stack reads itself. Repositories and grants are
 * checked by `validateRegistrySpec` once the clusters are read, so that a
 * grant naming an unknown cluster is reported with the rest.
 */
export function readEcrStackConfig(config: ConfigReader, problems: Problems): EcrStackConfig {
    checkUnknownKeys(config, problems, ECR_KEYS, "ECR");
    const read = config.get;
    const clusterStacks = read("clusterStacks");
    let stacks: string[] = [];
    if (clusterStacks === undefined) {
        problems.missing(
            "clusterStacks",
            'list the EKS stacks to serve, e.g. ["acme/ecrpull/eks"] ([] when every grant has an organization scope, which reads no cluster stack).',
        );
    } else {
        const list = asArray(problems, "clusterStacks", clusterStacks, "stack names");
        list?.forEach((name, i) => checkStackName(problems, `clusterStacks[${i}]`, name));
        if (list) {
            // Only well-formed names are read: a malformed one is reported above, not as a failed StackReference.
            stacks = list.filter(isStackName);
            checkUnique(problems, "clusterStacks", list, stringItem, "stack");
        }
    }
    const repositories = read("repositories");
    if (repositories === undefined) {
        problems.missing("repositories", 'list the repositories to create, e.g. [{ name: "team-a/api" }].');
    }
    const tags = read("tags") ?? {};
    checkTags(problems, "tags", tags);
    const tagRecord = typeof tags === "object" && tags !== null && !Array.isArray(tags) ? (tags as Record<string, unknown>) : undefined;
    const limits = read("limits");
    checkLimits(problems, "limits", limits);
    const nodePullScope = read("nodePullScope");
    if (nodePullScope !== undefined) {
        checkOneOf(problems, "nodePullScope", nodePullScope, ["roles", "accounts"]);
    }
    return {
        clusterStacks: stacks,
        limits: limits as Record<string, number> | undefined,
        nodePullScope: nodePullScope as string | undefined,
        repositories: (repositories ?? []) as RepositorySpec[],
        grants: (read("grants") ?? []) as GrantSpec[],
        tags: (tagRecord ?? {}) as Record<string, string>,
        adopt: read("adopt"),
        replicaRegions: read("replicaRegions"),
    };
}

/**
 * The defaults Pulumi.yaml declares for the project's typed config (a test
 * keeps the two equal). The CLI adds each to every stack that does not set
 * it, so the program of the other account receives it too: there, a key
 * holding its declared default counts as not set.
 */
export const DECLARED_DEFAULTS: Readonly<Record<string, unknown>> = {
    oidcThumbprint: "fetch",
    createNamespaces: false,
    nodePullScope: "roles",
};

/** Every setting either program reads: a key of another namespace with one of these names was meant for them. */
const SETTINGS = [...new Set([...EKS_KEYS, ...ECR_KEYS])];
/** Namespaces of the providers these programs use, and the keys of theirs that share a name with a setting. */
const PROVIDER_NAMESPACES = ["aws", "kubernetes", "eks", "pulumi", "pulumiservice"];
const PROVIDER_KEYS = ["kubernetes:cluster"];

/** Edit distance, for namespaces one or two keystrokes away from this one. */
function distance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const current = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = current;
        }
    }
    return row[b.length];
}

/**
 * Keys of another namespace that were meant for this one: a namespace a
 * typo away from `ecrpull` (`ecrpul:grants`, `ecr-pull:grants`), or a
 * provider's namespace holding one of the settings (`aws:workloads`). No
 * program reads them, so without this their values would be ignored without
 * a word. Other namespaces are left alone: a project may keep its own there.
 */
function checkMisplacedKeys(config: ConfigReader, problems: Problems): void {
    for (const full of [...(config.otherKeys?.() ?? [])].sort()) {
        const colon = full.indexOf(":");
        const [namespace, name] = colon < 0 ? ["", full] : [full.slice(0, colon), full.slice(colon + 1)];
        const nearMiss = namespace !== "" && distance(namespace.toLowerCase().replace(/[-_]/g, ""), CONFIG_NAMESPACE) <= 2;
        const inProvider = PROVIDER_NAMESPACES.includes(namespace) && SETTINGS.includes(name) && !PROVIDER_KEYS.includes(full);
        if (nearMiss || inProvider) {
            problems.raw(name, `is set as "${full}", which no program reads (its namespace is "${namespace}"): write it as "${CONFIG_NAMESPACE}:${name}".`);
        }
    }
}

/** Reports config keys the program does not read, which are usually typos. */
function checkUnknownKeys(config: ConfigReader, problems: Problems, known: readonly string[], program: string): void {
    checkMisplacedKeys(config, problems);
    for (const key of [...config.keys()].sort()) {
        const fromProjectDefault = key in DECLARED_DEFAULTS && JSON.stringify(config.get(key)) === JSON.stringify(DECLARED_DEFAULTS[key]);
        if (!known.includes(key) && !fromProjectDefault) {
            problems.raw(key, `is not a setting of the ${program} program: use one of ${known.join(", ")}.`);
        }
    }
}
