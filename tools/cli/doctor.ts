/**
 * `ecrpull doctor`: would STS let this service-account token assume its role,
 * and if not, why not and what to change. Reads the token and the stacks'
 * exports, asks the issuer for its keys and TLS chain, and prints one line per
 * check (✔ pass, ✘ fail, ! warning, – skipped) with the fix under each failure.
 *
 *   kubectl exec <pod> -- cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token > token
 *   pulumi stack export --show-secrets --stack ecr > ecr.json
 *   ecrpull doctor --token token --ecr-state ecr.json [--eks-state eks.json ...] [--role <arn or name>]
 *                     [--json] [--now <ISO time>] [--ca <PEM file> ...] [--connect-to <host:port>] [--timeout <ms>] [--offline]
 *
 * Exit code: 0 when the token would be let in, 1 when not, 2 when the
 * arguments or files are wrong.
 */
import * as fs from "fs";
import * as path from "path";
import { Command, Io, many, parseOptions, single, UsageError, Values } from "./command";
import { parseStackExport, StackExport, StackExportError } from "../state/stack-export";
import { DoctorReport, examineToken, ExamineOptions, formatReport } from "../doctor/doctor";

/** Thrown for wrong arguments or unreadable files: printed with the usage line, exit code 2. */
export { UsageError };

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

/** Parses a command line of `ecrpull doctor`; throws UsageError naming the bad argument. */
export function parseArguments(argv: readonly string[]): DoctorArguments {
    return doctorArguments(parseOptions(doctorCommand, argv));
}

/** The doctor's arguments from parsed options; a missing one is a UsageError naming it. */
export function doctorArguments(values: Values): DoctorArguments {
    const token = single(values, "token");
    const ecrState = single(values, "ecr-state");
    if (token === undefined || ecrState === undefined) {
        throw new UsageError(`--${token === undefined ? "token" : "ecr-state"} is required.`);
    }
    return {
        token,
        ecrState,
        eksStates: many(values, "eks-state"),
        role: single(values, "role"),
        json: values.json === true,
        now: single(values, "now"),
        ca: many(values, "ca"),
        connectTo: single(values, "connect-to"),
        timeout: single(values, "timeout"),
        offline: values.offline === true,
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

export const doctorCommand: Command = {
    name: "doctor",
    summary: "why STS refuses a service-account token for its role, and what to change",
    help: [
        "usage: ecrpull doctor --token <file> --ecr-state <file> [--eks-state <file>]... [--role <arn or name>] [--json] [--now <ISO time>] " +
            "[--ca <PEM file>]... [--connect-to <host:port>] [--timeout <ms>] [--offline]",
        "",
        "Would STS let this service-account token assume its role, and if not, why not and what to change.",
        "Reads the token and the stacks' exports, asks the issuer for its keys and TLS chain, and prints one",
        "line per check (✔ pass, ✘ fail, ! warning, – skipped) with the fix under each failure.",
        "",
        "  --token <file>         the pod's token (kubectl exec <pod> -- cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token)",
        "  --ecr-state <file>     the ECR stack's `pulumi stack export --show-secrets`",
        "  --eks-state <file>     an EKS stack's export (chaining and Pod Identity need the cluster's)",
        "  --role <arn or name>   the role to check; default: the one the token's service account is granted",
        "  --now <ISO time>       check expiry at this time instead of now",
        "  --ca <PEM file>        trust these CAs for the issuer (default: Node's)",
        "  --connect-to <h:p>     reach the issuer at this address (a proxy or a test issuer)",
        "  --timeout <ms>         per request to the issuer",
        "  --offline              do not contact the issuer (the signature and thumbprint checks are skipped)",
        "  --json                 the report as JSON",
        "",
        "Exit code: 0 the token would be let in, 1 it would not, 2 wrong arguments or files.",
    ].join("\n"),
    options: {
        token: { type: "string", multiple: true },
        "ecr-state": { type: "string", multiple: true },
        "eks-state": { type: "string", multiple: true },
        role: { type: "string", multiple: true },
        json: { type: "boolean" },
        now: { type: "string", multiple: true },
        ca: { type: "string", multiple: true },
        "connect-to": { type: "string", multiple: true },
        timeout: { type: "string", multiple: true },
        offline: { type: "boolean" },
    },
    async run(values: Values, io: Io): Promise<number> {
        const args = doctorArguments(values);
        const resolve = (file: string) => path.resolve(io.cwd, file);
        const report = await runDoctor({
            ...args,
            token: resolve(args.token),
            ecrState: resolve(args.ecrState),
            eksStates: args.eksStates.map(resolve),
            ca: args.ca.map(resolve),
        });
        io.out(`${args.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
        return report.admitted ? 0 : 1;
    },
};
