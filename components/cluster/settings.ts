/**
 * The settings of a cluster this package creates (`ManagedCluster`, and the
 * EKS stack's `ecrpull:cluster` with `create: true`), their defaults, and
 * their checks, and the node roles of a cluster it adopts (`ExistingCluster`,
 * and `ecrpull:cluster` with `create: false`): one function for both ways in,
 * so a value reads the same whichever way it came.
 */
import { checkIntegerInRange, checkRoleArn, checkUnique, Problems, stringItem } from "../validation";

/**
 * An adopted cluster's node roles, which must be given (`undefined` is a
 * problem): each a role ARN, none twice. `key` is the list's path for
 * `problems`.
 */
export function checkAdoptedNodeRoleArns(problems: Problems, key: string, nodeRoleArns: readonly unknown[] | undefined): void {
    if (nodeRoleArns === undefined) {
        problems.missing(
            key,
            "an existing cluster's node roles cannot be read from EKS: list the role ARN of each node group (or [] if its nodes never pull from the registry).",
        );
        return;
    }
    nodeRoleArns.forEach((arn, i) => checkRoleArn(problems, `${key}[${i}]`, arn));
    checkUnique(problems, key, nodeRoleArns, stringItem, "node role");
}

/** The node group's sizes when none are given. */
export const NODE_GROUP_DEFAULTS = { instanceType: "t3.large", desiredCapacity: 2, minSize: 1, maxSize: 4 } as const;

/** EKS's own bound on a managed node group's size (EKS quotas: nodes per node group). */
const MAX_NODES = 450;

export interface ManagedClusterSettings {
    readonly version?: unknown;
    readonly instanceType?: unknown;
    readonly desiredCapacity?: unknown;
    readonly minSize?: unknown;
    readonly maxSize?: unknown;
    readonly vpcId?: unknown;
    readonly subnetIds?: unknown;
}

/** EKS API reference, CreateCluster `version`: "1.<minor>". */
const KUBERNETES_VERSION = /^1\.\d{1,2}$/;
/** EC2 instance types: `<family>.<size>`, e.g. m6i.large, c7gn.16xlarge, mac2-m2.metal. */
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * Checks a created cluster's settings; `key` gives each field's path for
 * `problems` (`cluster.version` in stack config, `version` in args). Sizes are checked with the
 * defaults filled in, since a maxSize below the default desiredCapacity is as
 * wrong as one below a given one.
 */
export function checkManagedClusterSettings(problems: Problems, key: (field: string) => string, settings: ManagedClusterSettings): void {
    if (settings.version !== undefined) {
        if (typeof settings.version === "number") {
            problems.add(
                key("version"),
                settings.version,
                `is a number, and YAML reads 1.30 as 1.3: quote it (e.g. version: "${Number.isInteger(settings.version * 10) ? settings.version.toFixed(2) : settings.version}").`,
            );
        } else if (typeof settings.version !== "string" || !KUBERNETES_VERSION.test(settings.version)) {
            problems.add(key("version"), settings.version, 'is not a Kubernetes version EKS knows: use "1.<minor>" as a quoted string (e.g. "1.31").');
        }
    }
    if (settings.instanceType !== undefined && (typeof settings.instanceType !== "string" || !INSTANCE_TYPE.test(settings.instanceType))) {
        problems.add(key("instanceType"), settings.instanceType, 'is not an EC2 instance type: use "<family>.<size>" (e.g. "m6i.large").');
    }
    if (settings.vpcId !== undefined && (typeof settings.vpcId !== "string" || !VPC_ID.test(settings.vpcId))) {
        problems.add(key("vpcId"), settings.vpcId, 'is not a VPC ID: use "vpc-" and 8 or 17 hex digits.');
    }
    if (settings.subnetIds !== undefined) {
        if (!Array.isArray(settings.subnetIds)) {
            problems.add(key("subnetIds"), settings.subnetIds, 'is not a list: use a list of subnet IDs (e.g. ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]).');
        } else {
            settings.subnetIds.forEach((id, i) => {
                if (typeof id !== "string" || !SUBNET_ID.test(id)) {
                    problems.add(key(`subnetIds[${i}]`), id, 'is not a subnet ID: use "subnet-" and 8 or 17 hex digits.');
                }
            });
            if (new Set(settings.subnetIds).size < 2) {
                problems.raw(
                    key("subnetIds"),
                    "names fewer than two subnets: EKS needs subnets in at least two Availability Zones (EKS user guide, cluster VPC requirements).",
                );
            }
        }
    }
    const sizes = { desiredCapacity: settings.desiredCapacity, minSize: settings.minSize, maxSize: settings.maxSize };
    let sizesValid = true;
    for (const [field, value] of Object.entries(sizes)) {
        if (value !== undefined) {
            const before = problems.list.length;
            checkIntegerInRange(problems, key(field), value, 0, MAX_NODES);
            sizesValid &&= problems.list.length === before;
        }
    }
    if (!sizesValid) {
        return;
    }
    const value = (field: keyof typeof sizes) => (sizes[field] ?? NODE_GROUP_DEFAULTS[field]) as number;
    const named = (field: keyof typeof sizes) => `${problems.key(key(field))} ${value(field)}${sizes[field] === undefined ? " (the default)" : ""}`;
    // Blames `prefer` when it was written, else the other one, naming the other with its value.
    const order = (small: keyof typeof sizes, large: keyof typeof sizes, prefer: keyof typeof sizes) => {
        if (value(small) <= value(large)) {
            return false;
        }
        const rule = "use minSize <= desiredCapacity <= maxSize.";
        const blamed = sizes[prefer] !== undefined ? prefer : prefer === small ? large : small;
        if (blamed === small) {
            problems.add(key(small), value(small), `is larger than ${named(large)}: ${rule}`);
        } else {
            problems.add(key(large), value(large), `is smaller than ${named(small)}: ${rule}`);
        }
        return true;
    };
    // One message: the first rule broken says enough to fix the three.
    void (
        order("minSize", "maxSize", "minSize") ||
        order("desiredCapacity", "maxSize", "desiredCapacity") ||
        order("minSize", "desiredCapacity", "desiredCapacity")
    );
}
