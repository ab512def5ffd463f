/**
 * Reads and checks each stack's config. Every key is checked, and every
 * problem reported at once, before the program creates anything.
 */
import * as pulumi from "@pulumi/pulumi";
import { validateWorkloads, WorkloadSpec } from "../components/cluster-spec";
import { GrantSpec, RepositorySpec } from "../components/registry-spec";
import { checkLimits } from "../components/registry-plan";
import {
    asArray,
    asRecord,
    checkAccountId,
    checkBoolean,
    checkIntegerInRange,
    checkKnownKeys,
    checkOneOf,
    checkRoleArn,
    checkStackName,
    checkUnique,
    configKey,
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
}

const EKS_KEYS = ["program", "registryAccountId", "cluster", "oidcThumbprint", "createNamespaces", "workloads"];
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
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

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
    const workloads = read("workloads") ?? [];
    validateWorkloads(workloads, problems);
    problems.throwIfAny(`Stack "${stack}" (EKS program)`);

    return {
        registryAccountId: registryAccountId as string,
        cluster: cluster!,
        oidcThumbprint: oidcThumbprint as "fetch" | "omit",
        createNamespaces: createNamespaces as boolean,
        workloads: workloads as WorkloadSpec[],
    };
}

function checkClusterConfig(record: Record<string, unknown>, problems: Problems): ClusterConfig {
    checkKnownKeys(problems, "cluster", record, CLUSTER_KEYS);
    if (typeof record.name !== "string" || !CLUSTER_NAME.test(record.name)) {
        problems.add("cluster.name", record.name, "is not an EKS cluster name: use 1 to 100 letters, digits, '-' and '_', starting with a letter or digit.");
    }
    const create = record.create ?? false;
    checkBoolean(problems, "cluster.create", create);
    let nodeRoleArns: unknown = record.nodeRoleArns ?? [];
    if (create === false && record.nodeRoleArns === undefined) {
        problems.missing(
            "cluster.nodeRoleArns",
            "an existing cluster's node roles cannot be read from EKS: list the role ARN of each node group (or [] if its nodes never pull from the registry).",
        );
    } else if (create === true && record.nodeRoleArns !== undefined) {
        problems.raw("cluster.nodeRoleArns", "is set, but a created cluster gets its own node role: remove it, or set cluster.create to false.");
    } else {
        const list = asArray(problems, "cluster.nodeRoleArns", record.nodeRoleArns ?? [], "node role ARNs");
        list?.forEach((arn, i) => checkRoleArn(problems, `cluster.nodeRoleArns[${i}]`, arn));
        if (list) {
            checkUnique(problems, "cluster.nodeRoleArns", list, stringItem, "node role");
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
    for (const key of ["version", "instanceType", "vpcId"] as const) {
        if (record[key] !== undefined && (typeof record[key] !== "string" || record[key] === "")) {
            problems.add(`cluster.${key}`, record[key], 'is not a string: quote it (e.g. version "1.31").');
        }
    }
    const sizes = { desiredCapacity: record.desiredCapacity, minSize: record.minSize, maxSize: record.maxSize };
    for (const [key, value] of Object.entries(sizes)) {
        if (value !== undefined) {
            checkIntegerInRange(problems, `cluster.${key}`, value, 0, 450);
        }
    }
    const { desiredCapacity, minSize, maxSize } = sizes;
    const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
    if (isCount(minSize) && isCount(maxSize) && minSize > maxSize) {
        problems.add("cluster.minSize", minSize, `is larger than cluster.maxSize ${maxSize}: use minSize <= desiredCapacity <= maxSize.`);
    } else if (isCount(desiredCapacity) && isCount(maxSize) && desiredCapacity > maxSize) {
        problems.add("cluster.desiredCapacity", desiredCapacity, `is larger than cluster.maxSize ${maxSize}: use minSize <= desiredCapacity <= maxSize.`);
    } else if (isCount(desiredCapacity) && isCount(minSize) && desiredCapacity < minSize) {
        problems.add("cluster.desiredCapacity", desiredCapacity, `is smaller than cluster.minSize ${minSize}: use minSize <= desiredCapacity <= maxSize.`);
    }
    if (record.subnetIds !== undefined) {
        const subnets = asArray(problems, "cluster.subnetIds", record.subnetIds, "subnet IDs");
        subnets?.forEach((id, i) => {
            if (typeof id !== "string" || !/^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) {
                problems.add(`cluster.subnetIds[${i}]`, id, 'is not a subnet ID: use "subnet-" and 8 or 17 hex digits.');
            }
        });
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
}

const ECR_KEYS = ["program", "clusterStacks", "repositories", "grants", "limits", "nodePullScope", "tags"];

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
        problems.missing("clusterStacks", 'list the EKS stacks to serve, e.g. ["acme/ecrpull/eks"].');
    } else {
        const list = asArray(problems, "clusterStacks", clusterStacks, "stack names");
        list?.forEach((name, i) => checkStackName(problems, `clusterStacks[${i}]`, name));
        if (list) {
            stacks = list.filter((n): n is string => typeof n === "string");
            checkUnique(problems, "clusterStacks", list, stringItem, "stack");
        }
    }
    const repositories = read("repositories");
    if (repositories === undefined) {
        problems.missing("repositories", 'list the repositories to create, e.g. [{ name: "team-a/api" }].');
    }
    const tags = read("tags") ?? {};
    const tagRecord = asRecord(problems, "tags", tags, "string values");
    if (tagRecord) {
        for (const [key, value] of Object.entries(tagRecord)) {
            if (typeof value !== "string") {
                problems.add(`tags.${key}`, value, `is not a string: tag values are strings, so quote it (e.g. ${key}: "${String(value)}").`);
            }
        }
    }
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

/** Reports config keys the program does not read, which are usually typos. */
function checkUnknownKeys(config: ConfigReader, problems: Problems, known: readonly string[], program: string): void {
    for (const key of [...config.keys()].sort()) {
        const fromProjectDefault = key in DECLARED_DEFAULTS && JSON.stringify(config.get(key)) === JSON.stringify(DECLARED_DEFAULTS[key]);
        if (!known.includes(key) && !fromProjectDefault) {
            problems.raw(key, `is not a setting of the ${program} program: use one of ${known.join(", ")}.`);
        }
    }
}
