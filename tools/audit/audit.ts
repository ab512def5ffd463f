/**
 * The audit of deployed stacks: compares the state of the registry stack and
 * its cluster stacks (`pulumi stack export --show-secrets` files) with what
 * the current code would deploy for the same config, and reports
 *
 * - drift: a document (trust, role, repository, lifecycle policy, a
 *   ServiceAccount's role annotation, a Pod Identity association, a chained
 *   AWS config...) whose deployed value differs from the generated one,
 *   compared canonically so key order, list order and `"a"` against `["a"]`
 *   never count, since AWS returns policies reordered (docs/aws-facts.md);
 * - resources the code would create (missing) or delete (extra), by URN;
 * - grants nobody uses: pull roles no workload of any cluster stack names;
 * - workloads naming a pull role the registry state does not have;
 * - documents within 10% of their quota (or over it), and the registry
 *   account's OIDC providers and roles against theirs.
 *
 * Pure: the caller runs the programs (tools/cli/audit.ts) and hands over both
 * sets of states; this module compares values and does no I/O.
 */
import { accessReport, AccessReport, FleetState, FleetStateOptions, readFleetState } from "../report/report";
import { conditionsOnOrganization } from "../../components/iam/org-scope";
import { pullAllowed, roleNameOf } from "../report/evaluator";
import { ROLE_ARN_ANNOTATION } from "../../components/cluster/plan";
import { policySize } from "../../components/iam/policies";
import { QuotaLimits } from "../../components/iam/quotas";
import { ExportedResource, StackExport } from "../state/stack-export";

/** Thrown when the states cannot be audited; names the file and what is wrong. */
export class AuditError extends Error {}

export type FindingKind = "drift" | "missing" | "extra" | "unused grant" | "dangling role" | "near quota" | "over quota";

export interface Finding {
    /** Errors fail the audit (non-zero exit); warnings are reported only. */
    readonly severity: "error" | "warning";
    readonly kind: FindingKind;
    /** The stack, as in its state. */
    readonly stack: string;
    /** The resource's URN without its stack and project, when the finding is about one. */
    readonly resource?: string;
    readonly message: string;
    /** One line per difference, for drift. */
    readonly details?: readonly string[];
}

export interface StateSet {
    readonly registry: StackExport;
    readonly clusters: readonly StackExport[];
}

export interface AuditResult {
    readonly findings: readonly Finding[];
    /** The access report of the deployed documents. */
    readonly access: AccessReport;
    /** Resources compared, and documents measured. */
    readonly compared: number;
    readonly measured: number;
}

/** How close to a quota counts as "near" (within 10%). */
export const NEAR_QUOTA = 0.9;

/**
 * Refuses a state with encrypted values: the documents of this package are
 * not secret, but stack outputs a caller marked secret are, and an audit
 * that silently skipped them would miss drift.
 */
export function requirePlaintext(state: StackExport): void {
    if (state.encryptedPaths.length > 0) {
        const shown = state.encryptedPaths.slice(0, 3).join(", ");
        const more = state.encryptedPaths.length > 3 ? ` and ${state.encryptedPaths.length - 3} more` : "";
        throw new AuditError(
            `${state.source}: ${state.encryptedPaths.length} value(s) are encrypted (${shown}${more}); export the stack with \`pulumi stack export --show-secrets --file <file>\` so the audit can read them.`,
        );
    }
}

// ---- Canonical comparison -----------------------------------------------------------

/**
 * A value with every list treated as a set (sorted, de-duplicated, a single
 * element standing for itself) and object keys sorted: the form in which two
 * policies that IAM treats as equal are equal.
 */
export function canonical(value: unknown): unknown {
    if (Array.isArray(value)) {
        const items = value.map(canonical);
        const unique = [...new Map(items.map((item) => [JSON.stringify(item), item])).entries()]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([, item]) => item);
        return unique.length === 1 ? unique[0] : unique;
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(
            Object.keys(value)
                .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
                .sort()
                .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
        );
    }
    return value;
}

const show = (value: unknown) => (value === undefined ? "(absent)" : JSON.stringify(value));
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const isScalar = (value: unknown) => value === null || typeof value !== "object";

/** The differences between two canonical values, one line each, by path (statements named by Sid). */
export function differences(deployed: unknown, generated: unknown, path = "", matchSids = true): string[] {
    if (JSON.stringify(deployed) === JSON.stringify(generated)) {
        return [];
    }
    const both = [deployed, generated];
    if (both.every((v) => v === undefined || isScalar(v) || (Array.isArray(v) && v.every(isScalar))) && both.some(Array.isArray)) {
        const [d, g] = both.map((v) => asList(v).map((x) => JSON.stringify(x)));
        const extra = d.filter((x) => !g.includes(x));
        const lacking = g.filter((x) => !d.includes(x));
        return [
            ...(extra.length > 0 ? [`${path || "value"}: deployed also has ${extra.join(", ")}`] : []),
            ...(lacking.length > 0 ? [`${path || "value"}: deployed lacks ${lacking.join(", ")}`] : []),
        ];
    }
    // Statements (one, or a list once canonical) are matched by Sid, which the package keeps stable.
    const hasSid = (s: unknown) => s !== null && typeof s === "object" && !Array.isArray(s) && typeof (s as { Sid?: unknown }).Sid === "string";
    const bySid = (v: unknown) => v !== undefined && asList(v).length > 0 && asList(v).every(hasSid);
    if (matchSids && bySid(deployed) && bySid(generated)) {
        const index = (v: unknown) => new Map(asList(v).map((s) => [(s as { Sid: string }).Sid, s]));
        const [d, g] = [index(deployed), index(generated)];
        return [...new Set([...d.keys(), ...g.keys()])].sort().flatMap((sid) => differences(d.get(sid), g.get(sid), `${path}[${sid}]`, false));
    }
    if ([deployed, generated].every((v) => v !== null && typeof v === "object" && !Array.isArray(v))) {
        const [d, g] = [deployed as Record<string, unknown>, generated as Record<string, unknown>];
        return [...new Set([...Object.keys(d), ...Object.keys(g)])].sort().flatMap((k) => differences(d[k], g[k], path ? `${path}.${k}` : k));
    }
    return [`${path || "value"}: deployed ${show(deployed)}, generated ${show(generated)}`];
}

// ---- What is compared --------------------------------------------------------------------

/** A field of a resource that carries access: a path into its inputs, and whether it holds JSON text. */
interface ComparedField {
    readonly label: string;
    readonly path: readonly string[];
    readonly json?: boolean;
}

const f = (label: string, json = false): ComparedField => ({ label, path: label.split("."), json });

const SERVICE_ACCOUNT_FIELDS: readonly ComparedField[] = [
    f("metadata.namespace"),
    f("metadata.name"),
    { label: `metadata.annotations["${ROLE_ARN_ANNOTATION}"]`, path: ["metadata", "annotations", ROLE_ARN_ANNOTATION] },
];

/**
 * The fields compared per type: every document and every value that decides
 * who reaches what. Other types (components, providers, the cluster itself)
 * are only checked for presence.
 */
const COMPARED: Readonly<Record<string, readonly ComparedField[]>> = {
    "aws:iam/role:Role": [f("assumeRolePolicy", true), f("name"), f("maxSessionDuration")],
    "aws:iam/rolePolicy:RolePolicy": [f("policy", true), f("role"), f("name")],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": [f("policyArn"), f("role")],
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": [f("url"), f("clientIdLists")],
    "aws:ecr/repository:Repository": [
        f("name"),
        f("imageTagMutability"),
        f("imageTagMutabilityExclusionFilters"),
        f("imageScanningConfiguration"),
        f("encryptionConfigurations"),
        f("forceDelete"),
    ],
    "aws:ecr/repositoryPolicy:RepositoryPolicy": [f("policy", true), f("repository")],
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": [f("policy", true), f("repository")],
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": [f("clusterName"), f("namespace"), f("serviceAccount"), f("roleArn"), f("targetRoleArn")],
    "kubernetes:core/v1:ServiceAccount": SERVICE_ACCOUNT_FIELDS,
    // An existing ServiceAccount the stack patches (existingServiceAccount): the same annotation decides.
    "kubernetes:core/v1:ServiceAccountPatch": SERVICE_ACCOUNT_FIELDS,
    "kubernetes:core/v1:ConfigMap": [f("metadata.namespace"), f("metadata.name"), f("data")],
};

const at = (object: unknown, path: readonly string[]): unknown =>
    path.reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), object);

/** The deployed value: the outputs (what AWS returned at the last update or refresh), else the inputs sent. */
const deployedValue = (r: ExportedResource, path: readonly string[]) => at(r.outputs, path) ?? at(r.inputs, path);

/** A URN without `urn:pulumi:<stack>::<project>::`, so that states of differently named stacks compare. */
export function relativeUrn(urn: string): string {
    return urn.replace(/^urn:pulumi:[^:]*::[^:]*::/, "");
}

const parseJson = (text: unknown): unknown => {
    if (typeof text !== "string") {
        return text;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
};

/** Resources of a state that the engine manages and the program declares: not the stack, not default providers. */
const managed = (state: StackExport) => state.resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"));

/** Drift, missing and extra resources of one stack. */
function compareStates(deployed: StackExport, generated: StackExport, findings: Finding[]): number {
    const have = new Map(managed(deployed).map((r) => [relativeUrn(r.urn), r]));
    const want = new Map(managed(generated).map((r) => [relativeUrn(r.urn), r]));
    let compared = 0;
    for (const [urn, expected] of [...want].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const actual = have.get(urn);
        const name = `${expected.type} ${urn.slice(urn.lastIndexOf("::") + 2)}`;
        if (!actual) {
            findings.push({
                severity: "error",
                kind: "missing",
                stack: deployed.stack,
                resource: urn,
                message: `${name} is not deployed; the current code would create it.`,
            });
            continue;
        }
        compared++;
        for (const field of COMPARED[expected.type] ?? []) {
            const generatedValue = at(expected.inputs, field.path);
            if (generatedValue === undefined) {
                continue; // computed by the provider (an auto-named role's name): nothing to compare against
            }
            const read = (v: unknown) => canonical(field.json ? parseJson(v) : v);
            const details = differences(read(deployedValue(actual, field.path)), read(generatedValue), field.label);
            if (details.length > 0) {
                findings.push({
                    severity: "error",
                    kind: "drift",
                    stack: deployed.stack,
                    resource: urn,
                    message: `${name}: [${field.label}] differs from what the current code generates.`,
                    details,
                });
            }
        }
    }
    for (const [urn, actual] of [...have].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!want.has(urn)) {
            findings.push({
                severity: "error",
                kind: "extra",
                stack: deployed.stack,
                resource: urn,
                message: `${actual.type} ${urn.slice(urn.lastIndexOf("::") + 2)} is deployed but the current code does not declare it; the next \`pulumi up\` would delete it.`,
            });
        }
    }
    return compared;
}

/** Sizes of every document against its quota, and the registry account's counts. */
function measure(states: StateSet, limits: QuotaLimits, findings: Finding[]): number {
    let measured = 0;
    const check = (stack: string, what: string, size: number, limit: number, unit: string, resource?: string) => {
        measured++;
        const percent = Math.round((size / limit) * 100);
        if (size > limit) {
            findings.push({
                severity: "error",
                kind: "over quota",
                stack,
                resource,
                message: `${what} is ${size.toLocaleString("en-US")} ${unit}; the quota is ${limit.toLocaleString("en-US")} (${percent}%).`,
            });
        } else if (size >= NEAR_QUOTA * limit) {
            findings.push({
                severity: "warning",
                kind: "near quota",
                stack,
                resource,
                message: `${what} is ${size.toLocaleString("en-US")} ${unit} of ${limit.toLocaleString("en-US")} (${percent}%), within ${Math.round((1 - NEAR_QUOTA) * 100)}% of its quota.`,
            });
        }
    };
    for (const state of [states.registry, ...states.clusters]) {
        const roleNames = new Map<string, number>();
        for (const r of state.resources) {
            const urn = relativeUrn(r.urn);
            const text = (key: string) => String(deployedValue(r, [key]) ?? "");
            if (r.type === "aws:iam/role:Role") {
                check(state.stack, `the trust policy of ${text("name") || urn}`, policySize(text("assumeRolePolicy")), limits.trustPolicy, "characters", urn);
            } else if (r.type === "aws:iam/rolePolicy:RolePolicy") {
                // The quota counts all inline policies of a role together.
                roleNames.set(text("role"), (roleNames.get(text("role")) ?? 0) + policySize(text("policy")));
            } else if (r.type === "aws:ecr/repositoryPolicy:RepositoryPolicy") {
                check(state.stack, `the repository policy of ${text("repository")}`, policySize(text("policy")), limits.repositoryPolicy, "characters", urn);
            } else if (r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy") {
                check(state.stack, `the lifecycle policy of ${text("repository")}`, policySize(text("policy")), limits.lifecyclePolicy, "characters", urn);
            }
        }
        for (const [role, size] of [...roleNames].sort()) {
            check(state.stack, `the inline policies of ${role}`, size, limits.rolePolicy, "characters");
        }
    }
    const count = (type: string) => states.registry.resources.filter((r) => r.type === type).length;
    check(
        states.registry.stack,
        "the registry account's IAM OIDC providers (this stack's)",
        count("aws:iam/openIdConnectProvider:OpenIdConnectProvider"),
        limits.oidcProviders,
        "providers",
    );
    check(states.registry.stack, "the registry account's IAM roles (this stack's)", count("aws:iam/role:Role"), limits.roles, "roles");
    return measured;
}

/** Pull roles no workload names, and workloads naming a pull role the registry does not have. */
function checkUse(states: StateSet, fleet: FleetState, access: AccessReport, findings: Finding[]): void {
    const pullRoles = (states.registry.outputs.pullRoleArns ?? {}) as Record<string, string>;
    const workloads = states.clusters.flatMap((c) =>
        ((c.outputs.workloads ?? []) as { namespace: string; serviceAccount: string; roleArn: string }[]).map((w) => ({ ...w, stack: c.stack })),
    );
    for (const [grant, arn] of Object.entries(pullRoles).sort()) {
        // An organization-scoped grant's clusters are not listed anywhere: any cluster of the scope may use it.
        const trust = fleet.roles.get(arn)?.trustPolicy;
        const scoped = trust !== undefined && conditionsOnOrganization(trust);
        if (workloads.some((w) => w.roleArn === arn) || scoped) {
            continue;
        }
        const role = fleet.roles.get(arn);
        const repositories = role ? fleet.repositories.filter((r) => pullAllowed(role, r).allowed).map((r) => r.name) : [];
        const nodes = access.principals
            .filter((p) => p.kind === "node" && p.access.some((e) => repositories.includes(e.repository)))
            .map((p) => roleNameOf(p.nodeRoleArn!));
        const stacks = states.clusters.map((c) => c.stack).join(", ") || "no cluster stack";
        findings.push({
            severity: "warning",
            kind: "unused grant",
            stack: states.registry.stack,
            message:
                `grant "${grant}": no workload of ${stacks} uses its pull role ${roleNameOf(arn)}` +
                (nodes.length > 0
                    ? `; node roles (${nodes.join(", ")}) still pull its repositories (${repositories.join(", ")}) through the repository policies it adds them to.`
                    : `, and no node role pulls its repositories (${repositories.join(", ") || "none"}) through it: remove the grant, or add its workloads to the clusters' ecrpull:workloads.`),
        });
    }
    const known = new Set(Object.values(pullRoles));
    for (const w of workloads) {
        if (w.roleArn && !known.has(w.roleArn)) {
            findings.push({
                severity: "error",
                kind: "dangling role",
                stack: w.stack,
                message: `workload ${w.namespace}/${w.serviceAccount} reaches for ${w.roleArn}, which the registry stack ${states.registry.stack} does not have: its pods get AccessDenied.`,
            });
        }
    }
}

/**
 * Audits deployed states against generated ones (the same stacks, run by the
 * current code with the same config). Cluster states are matched by stack
 * name; `limits` are the registry's (ecrpull:limits or the defaults).
 */
export function auditStates(deployed: StateSet, generated: StateSet, limits: QuotaLimits, options: FleetStateOptions = {}): AuditResult {
    for (const state of [deployed.registry, ...deployed.clusters]) {
        requirePlaintext(state);
    }
    const findings: Finding[] = [];
    let compared = compareStates(deployed.registry, generated.registry, findings);
    for (const cluster of [...deployed.clusters].sort((a, b) => (a.stack < b.stack ? -1 : 1))) {
        const twin = generated.clusters.find((c) => c.stack === cluster.stack);
        if (!twin) {
            throw new AuditError(
                `${cluster.source}: no generated state for the stack ${cluster.stack}; the audit regenerates every cluster stack it is given.`,
            );
        }
        compared += compareStates(cluster, twin, findings);
    }
    const fleet = readFleetState(deployed.registry, deployed.clusters, options);
    const access = accessReport(fleet);
    checkUse(deployed, fleet, access, findings);
    const measured = measure(deployed, limits, findings);
    const order = (x: Finding) => `${x.severity === "error" ? 0 : 1}\u0000${x.stack}\u0000${x.kind}\u0000${x.resource ?? ""}\u0000${x.message}`;
    return { findings: findings.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)), access, compared, measured };
}

/** The findings as text for a terminal or a pull-request comment. */
export function renderFindings(result: AuditResult): string {
    const errors = result.findings.filter((x) => x.severity === "error").length;
    const warnings = result.findings.length - errors;
    const lines = [
        `${result.compared} resources compared with what the current code generates, ${result.measured} documents and counts measured against their quotas: ` +
            `${errors} error(s), ${warnings} warning(s).`,
    ];
    for (const finding of result.findings) {
        lines.push(`- ${finding.severity.toUpperCase()} ${finding.kind} (stack ${finding.stack}): ${finding.message}`);
        for (const detail of finding.details ?? []) {
            lines.push(`    ${detail}`);
        }
    }
    return lines.join("\n");
}
