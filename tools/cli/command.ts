/**
 * What every subcommand of `ecrpull` is: a name, its help, its options as
 * `node:util` `parseArgs` takes them, and a run that returns an exit code.
 * Output goes through `Io`, so that tests run a command in-process.
 */
import { parseArgs } from "node:util";

/** Wrong arguments: printed with the command's usage line, exit code 2. */
export class UsageError extends Error {}

/** Where a command writes, and where it stands. */
export interface Io {
    out(text: string): void;
    err(text: string): void;
    readonly cwd: string;
}

export type OptionSpec = { readonly type: "string" | "boolean"; readonly multiple?: boolean; readonly short?: string };

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
    readonly name: string;
    /** One line for `ecrpull --help`. */
    readonly summary: string;
    /** `ecrpull <name> --help`: the usage line first, then what each option does. */
    readonly help: string;
    readonly options: Readonly<Record<string, OptionSpec>>;
    run(values: Values, io: Io): Promise<number>;
}

/** The first line of a command's help: what `UsageError`s are printed with. */
export const usageLine = (command: Command) => command.help.split("\n")[0];

/** Parses `argv` for `command` (plus `--help`); a wrong argument is a UsageError naming it. */
export function parseOptions(command: Command, argv: readonly string[]): Values {
    try {
        const { values } = parseArgs({
            args: [...argv],
            options: { ...command.options, help: { type: "boolean", short: "h" } } as never,
            strict: true,
            allowPositionals: false,
        });
        return values as Values;
    } catch (error) {
        // parseArgs names the option in its own words ("Unknown option '--ecrr'", "Option '--ecr <value>'
        // argument missing"); say it in one voice for every command, with the options to choose from.
        const { code, message } = error as { code?: string; message: string };
        const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? "";
        const known = [...Object.keys(command.options), "help"].map((o) => `--${o}`).join(", ");
        if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
            throw new UsageError(`unknown argument "${option}"; the options are ${known}.`);
        }
        if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /argument missing/.test(message)) {
            throw new UsageError(`${option} needs a value.`);
        }
        if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
            throw new UsageError(`unexpected argument ${JSON.stringify(/'([^']*)'/.exec(message)?.[1] ?? "")}; the options are ${known}.`);
        }
        throw new UsageError(message);
    }
}

/** The one value of an option given at most once. */
export function single(values: Values, name: string): string | undefined {
    const value = values[name];
    if (Array.isArray(value)) {
        if (value.length > 1) {
            throw new UsageError(`--${name} is given ${value.length} times; give it once.`);
        }
        return value[0];
    }
    return typeof value === "string" ? value : undefined;
}

/** Every value of an option that may repeat. */
export const many = (values: Values, name: string): string[] => {
    const value = values[name];
    return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
};
