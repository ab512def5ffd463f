/**
 * The plain-data description of the cluster side: which service accounts
 * exist and which grant (registry role) each one uses, and its validation.
 */
import {
    asArray,
    asRecord,
    checkBoolean,
    checkKnownKeys,
    checkNamespace,
    checkServiceAccountName,
    checkIntegerInRange,
    checkOneOf,
    checkUnique,
    pairField,
    Problems,
    stringField,
} from "../validation";
import { ACCESS_PATHS, checkGrantName, DEFAULT_ACCESS_PATH, IAM_ROLE_NAME_MAX_LENGTH, MAX_SHARDS } from "../iam/names";

/** A ServiceAccount to create, and the grant whose pull role it assumes. */
export interface WorkloadSpec {
    /** The ServiceAccount's namespace. */
    readonly namespace: string;
    /** The ServiceAccount's name. */
    readonly serviceAccount: string;
    /** The grant's name in the ECR stack's config. */
    readonly grant: string;
    /** `federation` (default), `chaining` or `podIdentity`: the same as the grant's path in the ECR stack. */
    readonly path?: string;
    /** How many pull roles the grant is split across: the same as the grant's `shards` in the ECR stack. Default 1. */
    readonly shards?: number;
    /**
     * The ServiceAccount exists already (a Helm chart or someone else made it):
     * add this package's annotation and labels to it by server-side apply
     * instead of creating it, and take back only those fields when the stack
     * is destroyed. Default false: the stack creates the ServiceAccount, and
     * `pulumi up` fails with AlreadyExists if it is there.
     */
    readonly existingServiceAccount?: boolean;
}

const WORKLOAD_KEYS = ["namespace", "serviceAccount", "grant", "path", "shards", "existingServiceAccount"];
/** `ecr-chain-` / `ecr-podid-` before the grant, `-` and 6 hex digits after it (see `clusterRoleName`). */
const CLUSTER_ROLE_NAME_OVERHEAD = 17;

export function validateWorkloads(value: unknown, problems: Problems, path = "workloads"): void {
    const workloads = asArray(problems, path, value, "{ namespace, serviceAccount, grant, path } workloads");
    if (!workloads) {
        return;
    }
    workloads.forEach((item, i) => {
        const at = `${path}[${i}]`;
        const workload = asRecord(problems, at, item, "namespace, serviceAccount and grant");
        if (!workload) {
            return;
        }
        checkKnownKeys(problems, at, workload, WORKLOAD_KEYS);
        checkNamespace(problems, `${at}.namespace`, workload.namespace);
        checkServiceAccountName(problems, `${at}.serviceAccount`, workload.serviceAccount);
        if (workload.shards !== undefined) {
            checkIntegerInRange(problems, `${at}.shards`, workload.shards, 1, MAX_SHARDS);
        }
        if (workload.existingServiceAccount !== undefined) {
            checkBoolean(problems, `${at}.existingServiceAccount`, workload.existingServiceAccount);
        }
        const grantProblems = problems.list.length;
        checkGrantName(problems, `${at}.grant`, workload.grant);
        const grantIsValid = problems.list.length === grantProblems;
        const accessPath = workload.path ?? DEFAULT_ACCESS_PATH;
        if (!(ACCESS_PATHS as readonly unknown[]).includes(accessPath)) {
            checkOneOf(problems, `${at}.path`, accessPath, ACCESS_PATHS);
        } else if (accessPath !== "federation" && grantIsValid && String(workload.grant).length + CLUSTER_ROLE_NAME_OVERHEAD > IAM_ROLE_NAME_MAX_LENGTH) {
            problems.add(
                `${at}.grant`,
                workload.grant,
                `is too long for path "${accessPath}": its cluster-account role name would be ${String(workload.grant).length + CLUSTER_ROLE_NAME_OVERHEAD} characters, and IAM allows ${IAM_ROLE_NAME_MAX_LENGTH}; use a grant name of at most ${IAM_ROLE_NAME_MAX_LENGTH - CLUSTER_ROLE_NAME_OVERHEAD} characters.`,
            );
        }
    });
    // A grant has one path and one number of shards: its pull roles are written for them.
    for (const [field, fallback, what] of [
        ["path", DEFAULT_ACCESS_PATH, "path"],
        ["shards", 1, "number of shards"],
    ] as const) {
        const firstOfGrant = new Map<string, { value: unknown; index: number }>();
        workloads.forEach((item, i) => {
            const grant = stringField(item, "grant");
            if (grant === undefined) {
                return;
            }
            const value = (item as Record<string, unknown>)[field] ?? fallback;
            const first = firstOfGrant.get(grant);
            if (!first) {
                firstOfGrant.set(grant, { value, index: i });
            } else if (first.value !== value) {
                problems.add(
                    `${path}[${i}].${field}`,
                    value,
                    `differs from the ${what} ${JSON.stringify(first.value)} of ${problems.key(`${path}[${first.index}]`)}, which has the same grant "${grant}": all workloads of a grant use its one ${what}.`,
                );
            }
        });
    }
    // One ServiceAccount can carry one role annotation, so it can belong to one grant only.
    checkUnique(problems, path, workloads, (w) => pairField(w, "namespace", "serviceAccount"), "service account");
}
