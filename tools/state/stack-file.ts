/**
 * Reads a `Pulumi.<stack>.yaml` file as the Pulumi CLI does, for the tools
 * that run the programs without it (plan, audit): its `config:` block, each
 * key `<namespace>:<name>`, and its `environment:` imports.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";

/** A stack file that cannot be read; the message names the file and what is wrong. */
export class StackFileError extends Error {}

export interface StackFile {
    readonly file: string;
    /** Keys in full (`ecrpull:workloads`, `aws:region`). */
    readonly config: Record<string, unknown>;
    /** The ESC environments it imports. */
    readonly environments: readonly string[];
}

export function readStackFile(file: string): StackFile {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new StackFileError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
    }
    let document: unknown;
    try {
        document = yaml.load(text, { filename: file });
    } catch (error) {
        const reason = error instanceof yaml.YAMLException ? `${error.reason} at line ${error.mark.line + 1}, column ${error.mark.column + 1}` : String(error);
        throw new StackFileError(`${file}: not YAML (${reason}).`);
    }
    if (document === undefined || document === null) {
        return { file, config: {}, environments: [] };
    }
    if (typeof document !== "object" || Array.isArray(document)) {
        throw new StackFileError(`${file}: is not a mapping: a stack file holds "config:" (and "environment:") at its top level.`);
    }
    const { config, environment } = document as { config?: unknown; environment?: unknown };
    if (config !== undefined && config !== null && (typeof config !== "object" || Array.isArray(config))) {
        throw new StackFileError(`${file}: its config is not a mapping: write "config:" with one "<namespace>:<name>: <value>" per line.`);
    }
    for (const key of Object.keys(config ?? {})) {
        // The CLI parses every key as <namespace>:<name> and refuses the file otherwise.
        if (!/^[^:]+:[^:]+$/.test(key)) {
            throw new StackFileError(
                `${file}: config key "${key}" is not "<namespace>:<name>", and the Pulumi CLI refuses it: write it as "ecrpull:${key.split(":").pop()}" if it is one of this package's settings.`,
            );
        }
    }
    const environments = environment === undefined || environment === null ? [] : Array.isArray(environment) ? environment.map(String) : [String(environment)];
    return { file, config: (config ?? {}) as Record<string, unknown>, environments };
}

/** The `config:` block of a stack file. */
export function readStackConfig(file: string): Record<string, unknown> {
    return readStackFile(file).config;
}
