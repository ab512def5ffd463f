#!/usr/bin/env node
/**
 * `ecrpull`: the package's command (package.json `bin`).
 *
 *   ecrpull plan     what `pulumi up` would do in each account, from this project's stack files
 *   ecrpull audit    who can pull what in deployed stacks, and their drift from the current code
 *   ecrpull doctor   why STS refuses a service-account token, and what to change
 *
 * `ecrpull <command> --help` says more. Wrong arguments and unreadable files
 * exit 2 with a message; a bug of this package is printed with its stack.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { auditCommand } from "./audit";
import { Command, Io, parseOptions, usageLine, UsageError } from "./command";
import { doctorCommand } from "./doctor";
import { describeFailure } from "./errors";
import { planCommand } from "./plan";

export const COMMANDS: readonly Command[] = [planCommand, auditCommand, doctorCommand];

function version(): string {
    // dist/tools/cli/main.js and tools/cli/main.ts are both three levels below the package root.
    for (const up of ["../../..", "../.."]) {
        const file = path.join(__dirname, up, "package.json");
        if (fs.existsSync(file)) {
            return JSON.parse(fs.readFileSync(file, "utf8")).version;
        }
    }
    return "unknown";
}

const HELP = [
    "usage: ecrpull <command> [options]",
    "",
    "Least-privilege pulls from ECR in one AWS account by EKS clusters in others: the tools beside the",
    "package's components and its two stack programs.",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`),
    "",
    "`ecrpull <command> --help` describes a command; `ecrpull --version` prints the version.",
].join("\n");

/** Runs one command line; returns the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        (name === undefined ? io.err : io.out)(`${HELP}\n`);
        return name === undefined ? 2 : 0;
    }
    if (name === "--version" || name === "-v") {
        io.out(`${version()}\n`);
        return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
        io.err(`ecrpull: unknown command ${JSON.stringify(name)}; the commands are ${COMMANDS.map((c) => c.name).join(", ")}.\n${HELP}\n`);
        return 2;
    }
    try {
        const values = parseOptions(command, rest);
        if (values.help === true) {
            io.out(`${command.help}\n`);
            return 0;
        }
        return await command.run(values, io);
    } catch (error) {
        if (error instanceof UsageError) {
            io.err(`ecrpull ${command.name}: ${error.message}\n${usageLine(command)}\n`);
            return 2;
        }
        io.err(`${describeFailure(error)}\n`);
        // A program that refused the config: the plan found what `pulumi up` would find.
        return command === planCommand && pulumi.RunError.isInstance(error) ? 1 : 2;
    }
}

if (require.main === module) {
    const io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), cwd: process.cwd() };
    runCli(process.argv.slice(2), io).then(
        (code) => {
            process.exitCode = code;
        },
        (error) => {
            process.stderr.write(`${describeFailure(error)}\n`);
            process.exitCode = 2;
        },
    );
}
