/**
 * Reads the file `pulumi stack export [--show-secrets]` writes: the state of a
 * deployed stack, with every resource's inputs and outputs. The audit and the
 * doctor read deployed documents from it instead of asking AWS, so they need
 * no credentials and see exactly what Pulumi deployed.
 *
 * Only what those tools need is typed; the rest of the file is passed over.
 */

/** One resource as it is recorded in the state. */
export interface ExportedResource {
    readonly urn: string;
    readonly type: string;
    readonly custom: boolean;
    readonly id?: string;
    readonly parent?: string;
    readonly provider?: string;
    /** Inputs with secrets unwrapped (when exported with --show-secrets). */
    readonly inputs: Readonly<Record<string, unknown>>;
    /** Outputs with secrets unwrapped (when exported with --show-secrets). */
    readonly outputs: Readonly<Record<string, unknown>>;
    readonly retainOnDelete?: boolean;
}

export interface StackExport {
    /** Where the export came from, for messages (a file name). */
    readonly source: string;
    /** The stack's name, from the root Stack resource's URN. */
    readonly stack: string;
    readonly project: string;
    /** Outputs of the root Stack resource: what `pulumi stack output` shows. */
    readonly outputs: Readonly<Record<string, unknown>>;
    readonly resources: readonly ExportedResource[];
    /** Paths of values that stayed encrypted (the export was made without --show-secrets). */
    readonly encryptedPaths: readonly string[];
}

/** The marker Pulumi puts on a secret value in state. */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Thrown when a file is not a stack export this package can read. */
export class StackExportError extends Error {}

/**
 * Parses an export's JSON text. Secrets exported with --show-secrets are
 * unwrapped; encrypted ones are left undefined and their paths listed, so a
 * caller can say which value it could not read.
 */
export function parseStackExport(text: string, source: string): StackExport {
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch (error) {
        throw new StackExportError(`${source}: not JSON (${(error as Error).message}); give the file \`pulumi stack export --show-secrets\` writes.`);
    }
    const deployment = (document as { deployment?: unknown })?.deployment as { resources?: unknown } | undefined;
    const version = (document as { version?: unknown })?.version;
    if (typeof deployment !== "object" || deployment === null || !Array.isArray(deployment.resources)) {
        throw new StackExportError(
            `${source}: has no [deployment.resources]; give the file \`pulumi stack export --show-secrets\` writes (a checkpoint of version 3).`,
        );
    }
    if (version !== 3) {
        throw new StackExportError(
            `${source}: checkpoint version ${JSON.stringify(version)} is not supported; export with a Pulumi CLI of version 3 (checkpoint version 3).`,
        );
    }
    const encryptedPaths: string[] = [];
    const resources: ExportedResource[] = [];
    deployment.resources.forEach((raw: unknown, index: number) => {
        const r = raw as Record<string, unknown>;
        if (typeof r?.urn !== "string" || typeof r.type !== "string") {
            throw new StackExportError(`${source}: resource #${index} has no [urn] or [type].`);
        }
        for (const field of ["inputs", "outputs"] as const) {
            const value = r[field];
            if (value !== undefined && value !== null && (typeof value !== "object" || Array.isArray(value))) {
                throw new StackExportError(
                    `${source}: ${r.urn} has [${field}] that are not a mapping; give the file \`pulumi stack export --show-secrets\` writes.`,
                );
            }
        }
        resources.push({
            urn: r.urn,
            type: r.type,
            custom: r.custom === true,
            id: typeof r.id === "string" ? r.id : undefined,
            parent: typeof r.parent === "string" ? r.parent : undefined,
            provider: typeof r.provider === "string" ? r.provider : undefined,
            inputs: unwrapSecrets(r.inputs ?? {}, `${r.urn} inputs`, encryptedPaths, source) as Record<string, unknown>,
            outputs: unwrapSecrets(r.outputs ?? {}, `${r.urn} outputs`, encryptedPaths, source) as Record<string, unknown>,
            retainOnDelete: r.retainOnDelete === true,
        });
    });
    const root = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    if (!root) {
        throw new StackExportError(`${source}: has no pulumi:pulumi:Stack resource; export a stack that has been deployed at least once.`);
    }
    const { stack, project } = parseUrn(root.urn);
    return { source, stack, project, outputs: root.outputs, resources, encryptedPaths };
}

/** The parts of `urn:pulumi:<stack>::<project>::<type chain>::<name>`. */
export function parseUrn(urn: string): { stack: string; project: string; type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) {
        throw new StackExportError(`"${urn}" is not a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>).`);
    }
    const typeChain = parts[2].split("$");
    return { stack: parts[0].slice("urn:pulumi:".length), project: parts[1], type: typeChain[typeChain.length - 1], name: parts.slice(3).join("::") };
}

/** Resources of one type token, in state order. */
export function resourcesOfType(state: StackExport, type: string): ExportedResource[] {
    return state.resources.filter((r) => r.type === type);
}

function unwrapSecrets(value: unknown, path: string, encrypted: string[], source: string): unknown {
    if (Array.isArray(value)) {
        return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, encrypted, source));
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    const object = value as Record<string, unknown>;
    if (object[SECRET_SIGNATURE] === SECRET_VALUE) {
        if (typeof object.plaintext === "string") {
            // The plaintext of a secret is its value as JSON text.
            let plain: unknown;
            try {
                plain = JSON.parse(object.plaintext);
            } catch {
                throw new StackExportError(
                    `${source}: ${path} is a secret whose plaintext is not JSON: export the stack again with \`pulumi stack export --show-secrets\`.`,
                );
            }
            return unwrapSecrets(plain, path, encrypted, source);
        }
        encrypted.push(path);
        return undefined;
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, unwrapSecrets(v, `${path}.${k}`, encrypted, source)]));
}
