/**
 * `npm run doctor`: would STS let this service-account token assume its role,
 * and if not, why not and what to change. Reads the token and the stacks'
 * exports, asks the issuer for its keys and TLS chain, and prints one line per
 * check (✔ pass, ✘ fail, ! warning, – skipped) with the fix under each failure.
 *
 *   kubectl exec <pod> -- cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token > token
 *   pulumi stack export --show-secrets --stack ecr > ecr.json
 *   npm run doctor -- --token token --ecr-state ecr.json [--eks-state eks.json ...] [--role <arn or name>]
 *                     [--json] [--now <ISO time>] [--ca <PEM file> ...] [--connect-to <host:port>] [--timeout <ms>] [--offline]
 *
 * Exit code: 0 when the token would be let in, 1 when not, 2 when the
 * arguments or files are wrong.
 */
import * as fs from "fs";
import { parseStackExport, StackExport, StackExportError } from "../state/stack-export";
import { DoctorReport, examineToken, ExamineOptions, formatReport } from "../doctor/doctor";

const USAGE =
    "usage: npm run doctor -- --token <file> --ecr-state <file> [--eks-state <file> ...] [--role <arn or name>] [--json] [--now <ISO time>] " +
    "[--ca <PEM file> ...] [--connect-to <host:port>] [--timeout <ms>] [--offline]";

/** Thrown for wrong arguments or unreadable files: printed with the usage line, exit code 2. */
export class UsageError extends Error {}

export interface DoctorArguments {
    readonly token: string;
    readonly ecrState: string;
    readonly eksStates: readonly string[];
    readonly role?: string;
    readonly json: boolean;
    readonly now?: string;
    readonly ca: readonly string[];
    readonly connectTo?: string;
    readonly timeout?: string;
    readonly offline: boolean;
}

const VALUED = ["--token", "--ecr-state", "--eks-state", "--role", "--now", "--ca", "--connect-to", "--timeout"];
const FLAGS = ["--json", "--offline"];

/** Parses the command line; throws UsageError naming the bad argument. */
export function parseArguments(argv: readonly string[]): DoctorArguments {
    const values = new Map<string, string[]>();
    const flags = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (FLAGS.includes(arg)) {
            flags.add(arg);
        } else if (VALUED.includes(arg)) {
            const value = argv[i + 1];
            if (value === undefined || value.startsWith("--")) {
                throw new UsageError(`${arg} needs a value.`);
            }
            values.set(arg, [...(values.get(arg) ?? []), value]);
            i++;
        } else {
            throw new UsageError(`unknown argument ${JSON.stringify(arg)}; the options are ${[...VALUED, ...FLAGS].join(", ")}.`);
        }
    }
    const one = (flag: string): string | undefined => {
        const list = values.get(flag) ?? [];
        if (list.length > 1) {
            throw new UsageError(`${flag} is given ${list.length} times; give it once.`);
        }
        return list[0];
    };
    const token = one("--token");
    const ecrState = one("--ecr-state");
    if (token === undefined || ecrState === undefined) {
        throw new UsageError(`${token === undefined ? "--token" : "--ecr-state"} is required.`);
    }
    return {
        token,
        ecrState,
        eksStates: values.get("--eks-state") ?? [],
        role: one("--role"),
        json: flags.has("--json"),
        now: one("--now"),
        ca: values.get("--ca") ?? [],
        connectTo: one("--connect-to"),
        timeout: one("--timeout"),
        offline: flags.has("--offline"),
    };
}

function read(file: string, flag: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new UsageError(`${flag} ${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
    }
}

function readState(file: string, flag: string): StackExport {
    try {
        return parseStackExport(read(file, flag), file);
    } catch (error) {
        if (error instanceof StackExportError) {
            throw new UsageError(`${flag} ${error.message}`);
        }
        throw error;
    }
}

/** PEM certificates of a bundle file, each with its BEGIN/END lines. */
function certificates(file: string): string[] {
    const pems = read(file, "--ca").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0) {
        throw new UsageError(`--ca ${file}: holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
    }
    return pems.map((pem) => `${pem}\n`);
}

/** Runs the doctor for parsed arguments; returns the report (not printed). */
export async function runDoctor(args: DoctorArguments): Promise<DoctorReport> {
    const now = args.now === undefined ? new Date() : new Date(args.now);
    if (Number.isNaN(now.getTime())) {
        throw new UsageError(`--now ${JSON.stringify(args.now)} is not a time: use ISO 8601, e.g. 2026-11-22T08:00:00Z.`);
    }
    let connectTo: ExamineOptions["connectTo"];
    if (args.connectTo !== undefined) {
        const match = /^(.+):(\d{1,5})$/.exec(args.connectTo);
        if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
            throw new UsageError(`--connect-to ${JSON.stringify(args.connectTo)} is not host:port: use e.g. 127.0.0.1:8443.`);
        }
        connectTo = { host: match[1].replace(/^\[(.*)\]$/, "$1"), port: Number(match[2]) };
    }
    let timeoutMs: number | undefined;
    if (args.timeout !== undefined) {
        timeoutMs = Number(args.timeout);
        if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
            throw new UsageError(`--timeout ${JSON.stringify(args.timeout)} is not a number of milliseconds: use a whole number of at least 1, e.g. 5000.`);
        }
    }
    const caPems = args.ca.length > 0 ? args.ca.flatMap(certificates) : undefined;
    return examineToken(
        {
            token: read(args.token, "--token"),
            ecr: readState(args.ecrState, "--ecr-state"),
            eks: args.eksStates.map((f) => readState(f, "--eks-state")),
            role: args.role,
            now,
        },
        { caPems, connectTo, timeoutMs, offline: args.offline },
    );
}

async function main(): Promise<number> {
    try {
        const args = parseArguments(process.argv.slice(2));
        const report = await runDoctor(args);
        process.stdout.write(`${args.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
        return report.admitted ? 0 : 1;
    } catch (error) {
        if (error instanceof UsageError) {
            process.stderr.write(`doctor: ${error.message}\n${USAGE}\n`);
            return 2;
        }
        throw error;
    }
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (error) => {
            process.stderr.write(`doctor: ${(error as Error)?.stack ?? String(error)}\n`);
            process.exit(2);
        },
    );
}
