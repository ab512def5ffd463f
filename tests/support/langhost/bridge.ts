/**
 * The bridge between the two runners: a language-host run and a mock-engine
 * run of the same program with the same config, reduced to what both can
 * see (resources by URN with type, parent, provider, explicit dependencies
 * and inputs; the stack's outputs), so a test can require them equal. When
 * they are, the fast mock tests speak for the real path.
 */
import * as pulumi from "@pulumi/pulumi";
import { RecordedResource } from "../../../tools/engine/mock-engine";
import { Registration, providerUrn } from "./engine";
import { isUnknown, plain } from "./wire";

export interface ComparableResource {
    readonly type: string;
    readonly parent: string;
    /** The provider's URN (IDs differ between the engines). */
    readonly provider: string;
    readonly dependsOn: readonly string[];
    readonly inputs: unknown;
}

/** A mock-deserialized value as plain data: unknowns as "<unknown>", resources as their type and name. */
function plainMock(value: unknown): unknown {
    if (isUnknown(value) || (value !== null && typeof value === "object" && value.constructor?.name === "Unknown")) {
        return "<unknown>";
    }
    if (pulumi.Resource.isInstance(value)) {
        const r = value as unknown as { __pulumiType: string; __name: string };
        return `<resource ${r.__pulumiType}::${r.__name}>`;
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (Array.isArray(value)) {
        return value.map(plainMock);
    }
    return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, plainMock(v)]),
    );
}

/** A language-host value as plain data, resource references as their type and name (from the URN). */
function plainLanghost(value: unknown): unknown {
    if (value !== null && typeof value === "object" && (value as { kind?: string }).kind === "resource") {
        const urn = (value as { urn: string }).urn;
        const parts = urn.split("::");
        return `<resource ${parts[2].split("$").pop()}::${parts[3]}>`;
    }
    if (Array.isArray(value)) {
        return value.map(plainLanghost);
    }
    if (value !== null && typeof value === "object" && !isUnknown(value)) {
        return Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, plainLanghost(v)]),
        );
    }
    return plain(value);
}

/**
 * A language-host run's resources by URN. The stack's URN as a parent is
 * written "" (the mock runner does not register a stack resource).
 */
export function comparableFromLanghost(registrations: readonly Registration[]): Record<string, ComparableResource> {
    const stack = registrations.find((r) => r.kind === "stack")?.urn ?? "";
    const out: Record<string, ComparableResource> = {};
    for (const r of registrations) {
        if (r.kind === "stack") {
            continue;
        }
        out[r.urn] = {
            type: r.type,
            parent: r.parent === stack ? "" : r.parent,
            provider: r.provider ? providerUrn(r.provider) : "",
            dependsOn: [...r.dependencies].sort(),
            inputs: plainLanghost(r.inputs),
        };
    }
    return out;
}

/**
 * A mock run's resources by the URN the engine would give them. The SDK's
 * mock monitor (runtime/mocks.js `newUrn`) qualifies a type by its parent's
 * own type only, where the engine uses the parent's whole qualified type
 * (pkg/resource/deploy/source_eval.go: `parent.QualifiedType()`), so a
 * grandchild's URN differs; tests/urn-snapshot.test.ts does the same
 * correction.
 */
export function comparableFromMock(resources: readonly RecordedResource[], stack: string, project: string): Record<string, ComparableResource> {
    const engineUrn = new Map<string, string>();
    const urnOf = (r: RecordedResource): string => {
        const parent = r.parent ? engineUrn.get(r.parent) : undefined;
        const qualified = parent ? `${parent.split("::")[2]}$${r.type}` : r.type;
        return `urn:pulumi:${stack}::${project}::${qualified}::${r.name}`;
    };
    for (const r of resources) {
        const urn = urnOf(r);
        if (r.urn) {
            engineUrn.set(r.urn, urn);
        }
    }
    const mapUrn = (urn: string) => engineUrn.get(urn) ?? urn;
    const out: Record<string, ComparableResource> = {};
    for (const r of resources) {
        if (r.type === "pulumi:pulumi:Stack") {
            continue;
        }
        out[urnOf(r)] = {
            type: r.type,
            parent: r.parent ? mapUrn(r.parent) : "",
            provider: r.provider ? mapUrn(providerUrn(r.provider)) : "",
            dependsOn: r.dependsOn.map(mapUrn).sort(),
            inputs: plainMock(r.inputs),
        };
    }
    return out;
}

/** Stack outputs as plain data; unknown values (a preview) as undefined, as the mock runner resolves them. */
export function plainOutputs(outputs: Record<string, unknown> | undefined): unknown {
    const strip = (v: unknown): unknown => {
        if (v === "<unknown>") {
            return undefined;
        }
        if (Array.isArray(v)) {
            return v.map(strip);
        }
        if (v !== null && typeof v === "object") {
            return Object.fromEntries(
                Object.entries(v as Record<string, unknown>)
                    .map(([k, e]) => [k, strip(e)] as const)
                    .filter(([, e]) => e !== undefined),
            );
        }
        return v;
    };
    return strip(plain(outputs ?? {}));
}
