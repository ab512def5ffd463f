/**
 * Finds inputs that name another resource of the same program without
 * depending on it: a string equal to an identifying value (name, ARN, ID,
 * URL, cluster name, ...) of a resource the program creates, in a resource
 * that does not depend on that resource directly or transitively.
 *
 * Such an input is ordered by luck: the engine creates a resource as soon as
 * what its inputs and `dependsOn` name exists (docs/aws-facts.md, "Creation order"),
 * so an EKS add-on given the cluster's name as a plain string may be created
 * while the cluster is still being created; and a delete or replace, which
 * follows the recorded dependencies, has no order for it at all.
 *
 * Dependencies, as the engine's dependency graph has them: `dependencies`,
 * `propertyDependencies`, the provider reference, and the parent; a
 * dependency on a component is one on each of its descendants.
 */
import { isUnknown } from "./wire";

export interface DependencyRegistration {
    readonly urn: string;
    readonly type: string;
    /** "custom", "remote", "provider": created by the program; "component", "stack", "read": not. */
    readonly kind: string;
    readonly parent: string;
    readonly dependencies: readonly string[];
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** Provider reference `urn::id`, or "". */
    readonly provider: string;
    readonly inputs: Record<string, any>;
    /** What the engine answered (undefined or inputs only in a preview). */
    readonly outputs?: Record<string, any>;
    readonly id?: string;
}

export interface UndeclaredDependency {
    /** The resource whose input names another. */
    readonly resource: string;
    /** Where in its inputs (`clusterName`, `assumeRolePolicy{json}.Statement[0].Principal.Federated`). */
    readonly path: string;
    readonly value: string;
    /** The resource it names but does not depend on. */
    readonly names: string;
    /** Which identifying value of that resource it equals (`inputs.name`, `outputs.arn`, `id`). */
    readonly identifier: string;
}

/** Keys whose values identify a resource in AWS or Kubernetes. */
const IDENTIFYING_KEYS = ["name", "arn", "url", "repositoryUrl", "oidcProviderArn", "oidcProviderUrl", "oidcIssuer", "uniqueId"];
/** `clusterName` is a cluster's own name only on cluster types; on an add-on or an association it names the cluster. */
const CLUSTER_TYPES = new Set(["eks:index:Cluster", "aws:eks/cluster:Cluster"]);

const CREATED_KINDS = new Set(["custom", "remote", "provider"]);

function providerUrnOf(ref: string): string {
    return ref ? ref.slice(0, ref.lastIndexOf("::")) : "";
}

/** Identifying values of a created resource, with where each came from. */
function identifiersOf(r: DependencyRegistration): Map<string, string> {
    const found = new Map<string, string>();
    const add = (value: unknown, where: string) => {
        // Short values ("ci", "ml") and URLs without a host part would match too much to mean anything.
        if (typeof value === "string" && value.length >= 4 && !isUnknown(value) && !found.has(value)) {
            found.set(value, where);
        }
    };
    for (const [source, bag] of [
        ["inputs", r.inputs],
        ["outputs", r.outputs],
    ] as const) {
        if (!bag) {
            continue;
        }
        for (const key of CLUSTER_TYPES.has(r.type) ? [...IDENTIFYING_KEYS, "clusterName"] : IDENTIFYING_KEYS) {
            add(bag[key], `${source}.${key}`);
        }
        if (r.type.startsWith("kubernetes:") && bag.metadata && typeof bag.metadata === "object") {
            add(bag.metadata.name, `${source}.metadata.name`);
        }
    }
    if (r.id && !r.type.startsWith("pulumi:providers:")) {
        add(r.id, "id");
    }
    return found;
}

/** Every string in a value, walking into strings that hold JSON (policy documents, kubeconfigs). */
function stringsWithin(value: unknown, path: string, out: { path: string; value: string }[]): void {
    if (typeof value === "string") {
        out.push({ path, value });
        const trimmed = value.trim();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            try {
                stringsWithin(JSON.parse(trimmed), `${path}{json}`, out);
            } catch {
                // not JSON
            }
        }
        return;
    }
    if (value === null || typeof value !== "object" || isUnknown(value)) {
        return;
    }
    if (Array.isArray(value)) {
        value.forEach((v, i) => stringsWithin(v, `${path}[${i}]`, out));
        return;
    }
    if ((value as { kind?: string }).kind === "resource" && typeof (value as { urn?: string }).urn === "string") {
        // A resource reference is a declared dependency, not a name.
        return;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if ((k === "Condition" || k === "Resource" || k === "NotResource") && path.includes("{json}")) {
            // A policy's conditions and resources are compared with the request, never resolved:
            // IAM and ECR check that principals exist, not condition values or resource ARNs (which
            // is why docs/aws-facts.md's robust repository policy names the account root and pins the role in
            // a condition). Naming them creates no order.
            continue;
        }
        stringsWithin(v, path ? `${path}.${k}` : k, out);
    }
}

export function undeclaredDependencies(registrations: readonly DependencyRegistration[]): UndeclaredDependency[] {
    const byUrn = new Map(registrations.map((r) => [r.urn, r]));
    const children = new Map<string, string[]>();
    for (const r of registrations) {
        if (r.parent) {
            children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
        }
    }
    /** Edges to what a resource depends on; `parent` marks the parent edge, which does not stand for the parent's other children. */
    const directEdges = (r: DependencyRegistration): { urn: string; parent: boolean }[] => {
        const edges = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()].map((urn) => ({ urn, parent: false }));
        if (r.provider) {
            edges.push({ urn: providerUrnOf(r.provider), parent: false });
        }
        if (r.parent) {
            edges.push({ urn: r.parent, parent: true });
        }
        return edges;
    };
    // Everything a resource depends on, transitively; a component it depends on stands for its descendants too.
    const closure = new Map<string, Set<string>>();
    const dependsOn = (urn: string): Set<string> => {
        const cached = closure.get(urn);
        if (cached) {
            return cached;
        }
        const result = new Set<string>();
        const expanded = new Set<string>();
        closure.set(urn, result);
        const start = byUrn.get(urn);
        const stack = start ? directEdges(start) : [];
        while (stack.length > 0) {
            const next = stack.pop()!;
            const dep = byUrn.get(next.urn);
            const isComponent = dep !== undefined && (dep.kind === "component" || dep.kind === "stack");
            if (isComponent && !next.parent && !expanded.has(next.urn)) {
                expanded.add(next.urn);
                stack.push(...(children.get(next.urn) ?? []).map((c) => ({ urn: c, parent: false })));
            }
            if (result.has(next.urn)) {
                continue;
            }
            result.add(next.urn);
            if (dep) {
                stack.push(...directEdges(dep));
            }
        }
        return result;
    };

    const created = registrations.filter((r) => CREATED_KINDS.has(r.kind));
    const index = new Map<string, { urn: string; identifier: string }[]>();
    for (const s of created) {
        for (const [value, identifier] of identifiersOf(s)) {
            index.set(value, [...(index.get(value) ?? []), { urn: s.urn, identifier }]);
        }
    }

    const found: UndeclaredDependency[] = [];
    for (const r of registrations) {
        if (!CREATED_KINDS.has(r.kind)) {
            continue;
        }
        const strings: { path: string; value: string }[] = [];
        stringsWithin(r.inputs, "", strings);
        const seen = new Set<string>();
        for (const { path, value } of strings) {
            for (const target of index.get(value) ?? []) {
                if (target.urn === r.urn || dependsOn(r.urn).has(target.urn)) {
                    continue;
                }
                // Two resources whose own names are equal (two inline policies both named
                // "assume-ecr-pull-role") share a name; neither refers to the other.
                if (target.identifier.endsWith(`.${path}`)) {
                    continue;
                }
                const key = `${path}|${target.urn}`;
                if (!seen.has(key)) {
                    seen.add(key);
                    found.push({ resource: r.urn, path, value, names: target.urn, identifier: target.identifier });
                }
            }
        }
    }
    return found;
}
