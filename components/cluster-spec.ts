/**
 * The plain-data description of the cluster side: which service accounts
 * exist and which grant (registry role) each one uses, and its validation.
 */
import {
    asArray,
    asRecord,
    checkAccountId,
    checkGrantName,
    checkKnownKeys,
    checkNamespace,
    checkServiceAccountName,
    checkUnique,
    pairField,
    Problems,
} from "./validation";

/** A ServiceAccount to create, and the grant whose pull role it assumes. */
export interface WorkloadSpec {
    readonly namespace: string;
    readonly serviceAccount: string;
    /** The grant's name in the ECR stack's config. */
    readonly grant: string;
}

const WORKLOAD_KEYS = ["namespace", "serviceAccount", "grant"];

export function validateWorkloads(value: unknown, problems: Problems, path = "workloads"): void {
    const workloads = asArray(problems, path, value, "{ namespace, serviceAccount, grant } workloads");
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
        checkGrantName(problems, `${at}.grant`, workload.grant);
    });
    // One ServiceAccount can carry one role annotation, so it can belong to one grant only.
    checkUnique(problems, path, workloads, (w) => pairField(w, "namespace", "serviceAccount"), "service account");
}

export function validateRegistryAccountId(value: unknown, problems: Problems, path = "registryAccountId"): void {
    checkAccountId(problems, path, value);
}
