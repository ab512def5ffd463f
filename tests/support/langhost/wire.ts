/**
 * Property values as they travel between the Node.js SDK and the engine
 * (google.protobuf.Struct with Pulumi's special signatures), turned into plain
 * values the harness can record and compare, and back.
 *
 * The signatures are the SDK's own (`@pulumi/pulumi/runtime/rpc.js`:
 * `unknownValue`, `specialSigKey`, `specialSecretSig`, `specialResourceSig`,
 * `specialOutputValueSig`).
 */

/** An unknown value (a computed output in a preview). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
export const OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";

/** What an unknown value becomes in a decoded (plain) value. */
export class Unknown {
    toJSON(): string {
        return "<unknown>";
    }
}
export const unknown = new Unknown();
export const isUnknown = (value: unknown): value is Unknown => value instanceof Unknown;

/** A resource reference, as the SDK sends `instanceRole: someRole` to a remote component. */
export interface ResourceReference {
    readonly kind: "resource";
    readonly urn: string;
    readonly id?: string;
}

export interface Decoded {
    /** The value with secrets unwrapped, output values replaced by their value, unknowns as `unknown`, references as `ResourceReference`. */
    readonly value: unknown;
    /** Property paths (`a.b[0]`) that were secret. */
    readonly secretPaths: string[];
    /** URNs named by output values' dependencies and resource references. */
    readonly dependencies: Set<string>;
    /** Whether any part was unknown. */
    readonly containsUnknowns: boolean;
}

/** Decodes a Struct's JavaScript form (`struct.toJavaScript()`). */
export function decodeProperties(raw: unknown): Decoded {
    const secretPaths: string[] = [];
    const dependencies = new Set<string>();
    let containsUnknowns = false;
    const walk = (value: unknown, path: string): unknown => {
        if (value === UNKNOWN_VALUE) {
            containsUnknowns = true;
            return unknown;
        }
        if (value === null || typeof value !== "object") {
            return value;
        }
        if (Array.isArray(value)) {
            return value.map((v, i) => walk(v, `${path}[${i}]`));
        }
        const record = value as Record<string, unknown>;
        switch (record[SIG_KEY]) {
            case SECRET_SIG:
                secretPaths.push(path);
                return walk(record.value, path);
            case RESOURCE_SIG: {
                dependencies.add(String(record.urn));
                const reference: ResourceReference = { kind: "resource", urn: String(record.urn), id: record.id === undefined ? undefined : String(record.id) };
                return reference;
            }
            case OUTPUT_VALUE_SIG: {
                for (const urn of (record.dependencies as string[] | undefined) ?? []) {
                    dependencies.add(urn);
                }
                if (record.secret === true) {
                    secretPaths.push(path);
                }
                if (!("value" in record)) {
                    containsUnknowns = true;
                    return unknown;
                }
                return walk(record.value, path);
            }
            case ASSET_SIG:
            case ARCHIVE_SIG:
                return { asset: record.path ?? record.text ?? record.uri ?? "(archive)" };
            default:
                return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
        }
    };
    const value = walk(raw ?? {}, "");
    return { value, secretPaths, dependencies, containsUnknowns };
}

/** A decoded value as JSON-compatible data: unknowns as "<unknown>", references as their URN. */
export function plain(value: unknown): unknown {
    if (isUnknown(value)) {
        return "<unknown>";
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (Array.isArray(value)) {
        return value.map(plain);
    }
    if ((value as ResourceReference).kind === "resource" && typeof (value as ResourceReference).urn === "string") {
        return (value as ResourceReference).urn;
    }
    return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, plain(v)]),
    );
}

/** Encodes a plain state for a response: `unknown` becomes the unknown sentinel, undefined entries are dropped. */
export function encodeProperties(value: Record<string, unknown>): Record<string, unknown> {
    const walk = (v: unknown): unknown => {
        if (isUnknown(v)) {
            return UNKNOWN_VALUE;
        }
        if (v === null || typeof v !== "object") {
            return v;
        }
        if (Array.isArray(v)) {
            return v.map(walk);
        }
        if ((v as ResourceReference).kind === "resource" && typeof (v as ResourceReference).urn === "string") {
            const ref = v as ResourceReference;
            return { [SIG_KEY]: RESOURCE_SIG, urn: ref.urn, ...(ref.id !== undefined ? { id: ref.id } : {}) };
        }
        return Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
                .filter(([, e]) => e !== undefined)
                .map(([k, e]) => [k, walk(e)]),
        );
    };
    return walk(value) as Record<string, unknown>;
}

/** Every string anywhere in a decoded value, with its property path. */
export function stringsIn(value: unknown, path = ""): { path: string; value: string }[] {
    if (typeof value === "string") {
        return [{ path, value }];
    }
    if (value === null || typeof value !== "object" || isUnknown(value)) {
        return [];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => stringsIn(v, `${path}[${i}]`));
    }
    if ((value as ResourceReference).kind === "resource") {
        return [];
    }
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => stringsIn(v, path ? `${path}.${k}` : k));
}
