/**
 * What the Pulumi CLI does with the typed config Pulumi.yaml declares
 * (`config:` with `type`, `items`, `default`), for the tests and the mock
 * runs: check a stack file's values against the declarations, and add the
 * declared defaults to the keys a stack does not set.
 *
 * Project keys are declared without their namespace (`program`) and set in
 * stack files with it (`ecrpull:program`). Types are those of the CLI's
 * project schema (sdk/go/common/workspace/project.json): string, integer,
 * boolean and array (with `items`).
 */
import * as fs from "fs";
import * as yaml from "js-yaml";

export interface ConfigItemsType {
    readonly type: string;
    readonly items?: ConfigItemsType;
}

export interface ConfigDeclaration extends ConfigItemsType {
    readonly description?: string;
    readonly default?: unknown;
    readonly secret?: boolean;
}

export interface Project {
    readonly name: string;
    readonly config: Readonly<Record<string, ConfigDeclaration>>;
}

const SIMPLE_TYPES = ["string", "integer", "boolean", "array"];

export function readProject(file: string): Project {
    const document = yaml.load(fs.readFileSync(file, "utf8")) as { name: string; config?: Record<string, ConfigDeclaration> };
    return { name: document.name, config: document.config ?? {} };
}

/** Problems with the declarations themselves, as the CLI's schema check would report them. */
export function checkDeclarations(project: Project): string[] {
    const problems: string[] = [];
    const checkType = (where: string, declared: ConfigItemsType | undefined) => {
        if (!declared || !SIMPLE_TYPES.includes(declared.type)) {
            problems.push(`${where}: type ${JSON.stringify(declared?.type)} is not one of ${SIMPLE_TYPES.join(", ")}.`);
        } else if (declared.type === "array") {
            checkType(`${where}.items`, declared.items);
        }
    };
    for (const [key, declaration] of Object.entries(project.config)) {
        if (key.includes(":")) {
            problems.push(`config.${key}: only the project's own keys can be typed; declare it without a namespace.`);
        }
        checkType(`config.${key}`, declaration);
        if (declaration.default !== undefined && !conforms(declaration.default, declaration)) {
            problems.push(`config.${key}: default ${JSON.stringify(declaration.default)} is not a ${describeType(declaration)}.`);
        }
    }
    return problems;
}

/** Problems of one stack's `config:` block against the declarations: wrong types, required keys missing. */
export function checkStackConfig(project: Project, config: Readonly<Record<string, unknown>>, stackFile: string): string[] {
    const problems: string[] = [];
    for (const [key, declaration] of Object.entries(project.config)) {
        const value = config[`${project.name}:${key}`];
        if (value === undefined) {
            if (declaration.default === undefined) {
                problems.push(`${stackFile}: ${project.name}:${key} is missing: Pulumi.yaml declares it without a default, so every stack sets it.`);
            }
        } else if (!conforms(value, declaration)) {
            problems.push(`${stackFile}: ${project.name}:${key} is ${JSON.stringify(value)}, not a ${describeType(declaration)}.`);
        }
    }
    return problems;
}

/** A stack's config as the program receives it: the declared defaults added for the keys it does not set. */
export function withDeclaredDefaults(project: Project, config: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const merged: Record<string, unknown> = { ...config };
    for (const [key, declaration] of Object.entries(project.config)) {
        const name = `${project.name}:${key}`;
        if (merged[name] === undefined && declaration.default !== undefined) {
            merged[name] = declaration.default;
        }
    }
    return merged;
}

function conforms(value: unknown, declared: ConfigItemsType): boolean {
    switch (declared.type) {
        case "string":
            return typeof value === "string";
        case "integer":
            return Number.isInteger(value);
        case "boolean":
            return typeof value === "boolean";
        case "array":
            return Array.isArray(value) && value.every((item) => declared.items !== undefined && conforms(item, declared.items));
        default:
            return false;
    }
}

function describeType(declared: ConfigItemsType): string {
    return declared.type === "array" && declared.items ? `array of ${describeType(declared.items)}` : declared.type;
}
