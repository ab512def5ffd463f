/**
 * A stack file's config as the Pulumi CLI hands it to the program when the
 * file imports Pulumi ESC environments (`environment:`): each environment's
 * `values.pulumiConfig`, its own `imports:` first, then the stack file's
 * `config:`, which wins (Pulumi docs, "Pulumi ESC: integrate with Pulumi
 * IaC"). The tools run without ESC, so they read the definitions this
 * repository keeps in `esc/`: environment `<project>/<name>` is
 * `esc/<name>.yaml` beside the stack file.
 *
 * Only plain values can be resolved here: a `pulumiConfig` value that is an
 * `fn::` call or holds a `${...}` reference needs ESC itself, and is refused
 * with the key rather than guessed at.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { readStackFile, StackFileError } from "./stack-file";

export interface EffectiveConfig {
    /** Keys in full (`ecrpull:grants`), the stack file's over its environments'. */
    readonly config: Record<string, unknown>;
    /** Environments imported without a definition in `esc/`: their pulumiConfig is not applied. */
    readonly unresolved: readonly string[];
}

/** `project`: the namespace of bare pulumiConfig keys (the project's name in Pulumi.yaml). */
export function effectiveStackConfig(file: string, project = "ecrpull"): EffectiveConfig {
    const stack = readStackFile(file);
    const unresolved: string[] = [];
    const fromEnvironments: Record<string, unknown> = {};
    const seen = new Set<string>();
    const load = (name: string, chain: readonly string[]) => {
        if (chain.includes(name)) {
            throw new StackFileError(`${file}: environment ${name} imports itself (${[...chain, name].join(" -> ")}).`);
        }
        if (seen.has(name)) {
            return;
        }
        seen.add(name);
        const definition = path.join(path.dirname(file), "esc", `${name.split("/").pop()}.yaml`);
        if (!fs.existsSync(definition)) {
            unresolved.push(name);
            return;
        }
        const document = (yaml.load(fs.readFileSync(definition, "utf8")) ?? {}) as { imports?: unknown; values?: { pulumiConfig?: unknown } };
        for (const imported of Array.isArray(document.imports) ? document.imports : []) {
            load(String(imported), [...chain, name]);
        }
        const pulumiConfig = document.values?.pulumiConfig;
        if (pulumiConfig === undefined || pulumiConfig === null) {
            return;
        }
        if (typeof pulumiConfig !== "object" || Array.isArray(pulumiConfig)) {
            throw new StackFileError(`${definition}: values.pulumiConfig is not a mapping of config keys.`);
        }
        for (const [key, value] of Object.entries(pulumiConfig)) {
            const dynamic = findDynamic(value);
            if (dynamic) {
                throw new StackFileError(
                    `${definition}: values.pulumiConfig.${key} holds ${dynamic}, which only Pulumi ESC can evaluate: the tools read plain values; run them where the value is written out, or give the key in the stack file.`,
                );
            }
            fromEnvironments[key.includes(":") ? key : `${project}:${key}`] = value;
        }
    };
    for (const name of stack.environments) {
        load(name, []);
    }
    return { config: { ...fromEnvironments, ...stack.config }, unresolved };
}

/** The first `fn::` call or `${...}` reference in a value, described; undefined when it is plain data. */
function findDynamic(value: unknown): string | undefined {
    if (typeof value === "string") {
        return /\$\{[^}]*\}/.test(value) ? `the reference ${JSON.stringify(value.match(/\$\{[^}]*\}/)![0])}` : undefined;
    }
    if (Array.isArray(value)) {
        return value.map(findDynamic).find((d) => d !== undefined);
    }
    if (value !== null && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
            if (key.startsWith("fn::")) {
                return `the call ${key}`;
            }
            const found = findDynamic(inner);
            if (found) {
                return found;
            }
        }
    }
    return undefined;
}
