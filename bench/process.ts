/**
 * The ECR stack program as a whole process against a process that loads only
 * the Pulumi SDKs and makes the same registrations (issue 13: at most 1.2x).
 *
 *   npx ts-node --transpile-only bench/process.ts                # the target fleet, 7 runs of each
 *   npx ts-node --transpile-only bench/process.ts '{"runs": 5}'  # what bench/run.ts passes: { size, runs }
 *
 * Three kinds of fresh `node` process, on the Pulumi SDK's mock engine
 * (tools/engine/mock-engine.ts, which all load), against the fleet of
 * bench/fleet.ts (by default the target fleet, 100 clusters, 50 tenants and
 * 500 repositories, laid out by `planFleet` as `npm run bench` lays it out):
 *
 * - program: the stack program as the language host runs it: the SDK is set
 *   up, then Pulumi.yaml's `main` (stacks/index.ts) is `require`d and the
 *   stack's outputs are what its export resolves to; stack `ecr`, the fleet's
 *   ECR config, every EKS stack's outputs behind the stack references;
 * - baseline: a process that loads `@pulumi/pulumi` and `@pulumi/aws` (and the
 *   mock engine) only and makes the same registrations a first program run
 *   recorded, in the same order: every resource the program registers, the
 *   559 components included (as plain `pulumi.ComponentResource`s), each
 *   custom resource by its SDK class (`aws.iam.Role`, ...), with the same
 *   type, name, parent, inputs (as literals), aliases, explicit
 *   dependencies and retain/protect options, so with the same URNs; stack
 *   references as `pulumi.StackReference`s. A first run of each checks all
 *   of that resource by resource. What it leaves out is what the package
 *   adds to the SDK's work: its modules, config reading, validation and
 *   planning, the stack references' reads, inputs that are other
 *   resources' outputs, the components' registered outputs and the stack's
 *   outputs. (It reads the registrations from a file, about 1.5 MB of JSON
 *   for the target fleet, some 10 ms: what a program written out by hand
 *   would carry as literals.)
 * - flat, for the record: the same custom resources by their SDK classes,
 *   with no components and no parents (a different set of URNs). This was
 *   the baseline at first; a component tree is part of what the program
 *   registers, so it is not what the target judges, but its ratio is
 *   printed beside the target's.
 *
 * Each is timed from spawn to exit in this process (wall clock: node's
 * start-up, module loading, the run and exit), the three in turn with the
 * order rotated every round so that the shared machine's load falls on all
 * alike; the figures are the medians.
 *
 * All run as JavaScript compiled by `tsc` (the package's build settings,
 * tsconfig.build.json) into a temporary directory, with plain `node`. Here
 * module loading is the point, and under ts-node the program side would pay
 * the transpilation of every package file it loads while the baseline (the
 * SDKs are JavaScript) pays next to none, and both would pay ts-node's own
 * start-up (loading the TypeScript compiler): neither is what loading the
 * program costs, and a stack run from the installed package (`ecrpull/stacks`)
 * is compiled JavaScript. (bench/one.ts uses ts-node because it times only the
 * program run, after module loading.)
 *
 * Prints a summary and one line `PROCESS_RESULT <json>` for bench/run.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { FleetSize } from "./fleet";
import type { RecordedResource } from "../tools/engine/mock-engine";
import type { CustomResourceOptions } from "@pulumi/pulumi";

export interface ProcessArgs {
    readonly size?: FleetSize;
    /** Timed runs of each kind (after one untimed run of each). */
    readonly runs?: number;
}

/** What a child prints. */
interface ChildResult {
    readonly ok: boolean;
    readonly error?: string;
    readonly registered: number;
    readonly custom: number;
    /** Files in require.cache at the end: every module the process loaded. */
    readonly modules: number;
    /** Modules per npm package, and the package's own files as "(ecrpull)". */
    readonly packages: Readonly<Record<string, number>>;
    /** performance.now() at the end of the run: ms since the process started. */
    readonly endMs: number;
    /** User and system CPU time of the process (every thread) at the end of the run, ms. */
    readonly cpuMs: number;
    readonly maxRssKiB: number;
}

export interface ProcessSide {
    /** Wall time of each timed run, spawn to exit, ms. */
    readonly samples: readonly number[];
    readonly medianMs: number;
    /** CPU time of each timed run (to its end, before exit), ms: less sensitive than wall time to the machine's other load. */
    readonly cpuSamples: readonly number[];
    readonly cpuMedianMs: number;
    readonly modules: number;
    readonly packages: Readonly<Record<string, number>>;
    readonly registered: number;
    readonly custom: number;
    readonly maxRssKiB: number;
}

export interface ProcessResult {
    readonly ok: boolean;
    readonly error?: string;
    readonly fleet: string;
    readonly node: string;
    readonly build: string;
    readonly runs: number;
    readonly program?: ProcessSide;
    /** The same registrations, components included, by the SDK alone: what the target judges against. */
    readonly baseline?: ProcessSide;
    /** The custom resources alone, flat (the baseline at first), for the record. */
    readonly flat?: ProcessSide;
    /** program median / baseline median: what the target judges. */
    readonly ratio?: number;
    /** The median of each pair's program / baseline (the pair ran back to back), for the record. */
    readonly pairRatio?: number;
    /** program median / flat median, for the record. */
    readonly flatRatio?: number;
    /** Registrations that differ between the program's first run and the baseline's (or the flat replay's custom resources). */
    readonly mismatches?: readonly string[];
}

/** What a first program run registered, as the replays make it again. */
export type Recorded = Pick<
    RecordedResource,
    "type" | "name" | "urn" | "parent" | "provider" | "custom" | "retainOnDelete" | "protect" | "dependsOn" | "aliases" | "inputs"
>;

export type ReplayShape = "tree" | "flat";

/** What both kinds of child read: the stack's config and the referenced stacks' outputs. */
export interface StackInput {
    readonly stack: string;
    readonly config: Record<string, unknown>;
    readonly accountId: string;
    readonly region: string;
    readonly references: Record<string, Record<string, unknown>>;
}

const ROOT = path.resolve(__dirname, "..");
const DEFAULT_SIZE: FleetSize = { clusters: 100, tenants: 50, repositories: 500 };
const DEFAULT_RUNS = 7;
/** Issue 13: the program's process at most this many times the SDK-only one. */
export const PROCESS_TARGET = 1.2;

// ---- Children (compiled JavaScript; they load nothing above but Node's own modules) ----

function packagesOf(files: readonly string[]): Record<string, number> {
    const packages: Record<string, number> = {};
    for (const file of files) {
        const match = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file);
        const name = match ? match[1].replace("\\", "/") : "(ecrpull)";
        packages[name] = (packages[name] ?? 0) + 1;
    }
    return packages;
}

function childResult(ok: boolean, error: string | undefined, resources: readonly { custom: boolean }[]): ChildResult {
    const files = Object.keys(require.cache);
    const usage = process.resourceUsage();
    return {
        ok,
        error,
        registered: resources.length,
        custom: resources.filter((r) => r.custom).length,
        modules: files.length,
        packages: packagesOf(files),
        endMs: performance.now(),
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        maxRssKiB: usage.maxRSS,
    };
}

async function programChild(inputFile: string, save: string | undefined): Promise<ChildResult> {
    const { runProgram } = await import("../tools/engine/mock-engine");
    const input = JSON.parse(fs.readFileSync(inputFile, "utf8")) as StackInput;
    try {
        // As the language host does: the SDK first, then the program's main module, whose export is the outputs.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the stack program's entry point, loaded as Pulumi loads it
        const run = await runProgram(async () => require("../stacks/index") as Promise<unknown>, {
            stack: input.stack,
            config: input.config,
            accountId: input.accountId,
            region: input.region,
            stackReferences: input.references,
        });
        if (save) {
            fs.writeFileSync(save, JSON.stringify(run.resources.map(recordedOf)));
        }
        return childResult(true, undefined, run.resources);
    } catch (e) {
        return childResult(false, e instanceof Error ? (e.stack ?? e.message) : String(e), []);
    }
}

function recordedOf(r: RecordedResource): Recorded {
    const { type, name, urn, parent, provider, custom, retainOnDelete, protect, dependsOn, aliases, inputs } = r;
    return { type, name, urn, parent, provider, custom, retainOnDelete, protect, dependsOn, aliases, inputs };
}

/**
 * Makes the recorded registrations again with the SDK alone: "tree", every one
 * of them with its parent, options and aliases (so the same URNs); "flat", the
 * custom resources only, with none of those.
 */
async function replayChild(shape: ReplayShape, inputFile: string, load: string, save: string | undefined): Promise<ChildResult> {
    const pulumi = await import("@pulumi/pulumi");
    const aws = await import("@pulumi/aws");
    const { runProgram } = await import("../tools/engine/mock-engine");
    type AnyResource = InstanceType<typeof pulumi.Resource>;
    const input = JSON.parse(fs.readFileSync(inputFile, "utf8")) as StackInput;
    const recorded = (JSON.parse(fs.readFileSync(load, "utf8")) as Recorded[]).filter((r) => shape === "tree" || r.custom);
    const classOf = (type: string): (new (name: string, inputs: any, opts?: CustomResourceOptions) => AnyResource) | undefined => {
        if (type === "pulumi:pulumi:StackReference") {
            return class {
                constructor(name: string, inputs: any, opts?: CustomResourceOptions) {
                    return new pulumi.StackReference(name, { name: inputs.name }, opts);
                }
            } as unknown as new (name: string, inputs: any, opts?: CustomResourceOptions) => AnyResource;
        }
        const [pkg, module, cls] = type.split(":");
        const namespace = module.split("/")[0];
        const holder = pkg !== "aws" ? undefined : namespace === "index" ? aws : (aws as unknown as Record<string, unknown>)[namespace];
        const found = (holder as Record<string, unknown> | undefined)?.[cls];
        return typeof found === "function" ? (found as new (name: string, inputs: any, opts?: CustomResourceOptions) => AnyResource) : undefined;
    };
    try {
        const run = await runProgram(
            async () => {
                // Recorded in registration order: a parent or a dependency is always registered before its dependents.
                const byUrn = new Map<string, AnyResource>();
                const made = (urn: string, of: Recorded) => {
                    const found = byUrn.get(urn);
                    if (!found) {
                        throw new Error(`the replay of ${of.type} "${of.name}" refers to ${urn}, which it has not made (yet)`);
                    }
                    return found;
                };
                for (const r of recorded) {
                    const opts: CustomResourceOptions = {};
                    if (shape === "tree") {
                        if (r.parent && !r.parent.includes("::pulumi:pulumi:Stack::")) {
                            opts.parent = made(r.parent, r);
                        }
                        if (r.dependsOn.length > 0) {
                            opts.dependsOn = r.dependsOn.map((urn) => made(urn, r));
                        }
                        if (r.retainOnDelete) {
                            opts.retainOnDelete = true;
                        }
                        if (r.protect) {
                            opts.protect = true;
                        }
                        if (r.provider) {
                            throw new Error(`the replay does not make explicit providers (${r.type} "${r.name}")`);
                        }
                        if (r.aliases.length > 0) {
                            opts.aliases = r.aliases.map((a) => {
                                if (a.urn) {
                                    return a.urn;
                                }
                                if (a.noParent || (a.parentUrn && a.parentUrn !== r.parent)) {
                                    throw new Error(`the replay makes aliases under the resource's own parent only (${r.type} "${r.name}")`);
                                }
                                // Unset parts are the resource's own, as the SDK sends them.
                                return {
                                    ...(a.name && { name: a.name }),
                                    ...(a.type && { type: a.type }),
                                    ...(a.stack && { stack: a.stack }),
                                    ...(a.project && { project: a.project }),
                                };
                            });
                        }
                    }
                    let resource: AnyResource;
                    if (!r.custom) {
                        // Registers its outputs ({}) by itself once made, as a component without registerOutputs does.
                        resource = new pulumi.ComponentResource(r.type, r.name, {}, opts);
                    } else {
                        const Class = classOf(r.type);
                        if (!Class) {
                            throw new Error(`the baseline has no SDK class for ${r.type}`);
                        }
                        resource = new Class(r.name, r.inputs, opts);
                    }
                    if (r.urn) {
                        byUrn.set(r.urn, resource);
                    }
                }
                return {};
            },
            { stack: input.stack, config: input.config, accountId: input.accountId, region: input.region, stackReferences: input.references },
        );
        if (save) {
            fs.writeFileSync(save, JSON.stringify(run.resources.map(recordedOf)));
        }
        if (run.resources.length !== recorded.length) {
            return childResult(false, `the ${shape} replay registered ${run.resources.length} resources, the program ${recorded.length}`, run.resources);
        }
        return childResult(true, undefined, run.resources);
    } catch (e) {
        return childResult(false, e instanceof Error ? (e.stack ?? e.message) : String(e), []);
    }
}

// ---- The measurement (this process, under ts-node or compiled alike) ----

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

/** Compiles what the children load with the package's build settings into `dir`, and links the project's node_modules there. */
function compile(dir: string): string {
    const config = {
        extends: path.join(ROOT, "tsconfig.build.json"),
        compilerOptions: { outDir: dir, rootDir: ROOT, declaration: false, sourceMap: false, noEmit: false, incremental: false },
        include: [],
        files: [path.join(ROOT, "stacks/index.ts"), path.join(ROOT, "tools/engine/mock-engine.ts"), path.join(ROOT, "bench/process.ts")],
    };
    const tsconfig = path.join(dir, "tsconfig.json");
    fs.writeFileSync(tsconfig, JSON.stringify(config));
    // Before compiling: tsc finds @types/node from the config's directory, the children their packages from theirs.
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", tsconfig], { cwd: ROOT, encoding: "utf8" });
    if (tsc.status !== 0) {
        throw new Error(`tsc failed: ${(tsc.stdout + tsc.stderr).trim().split("\n").slice(0, 10).join("\n")}`);
    }
    return path.join(dir, "bench", "process.js");
}

/** One fresh process: its wall time from spawn to exit, and what it printed. */
function spawnChild(script: string, args: readonly string[]): { ms: number; result: ChildResult } {
    const t0 = process.hrtime.bigint();
    const run = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60 * 1000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const line = (run.stdout ?? "").split("\n").find((l) => l.startsWith("CHILD_RESULT "));
    if (!line || run.status !== 0) {
        const why = run.error ? String(run.error) : `exit ${run.status ?? ""}${run.signal ? ` signal ${run.signal}` : ""}`;
        const result = line ? (JSON.parse(line.slice("CHILD_RESULT ".length)) as ChildResult) : undefined;
        throw new Error(`${args[0]} process failed (${why}): ${result?.error ?? (run.stderr ?? "").trim().split("\n").slice(-10).join("\n")}`);
    }
    const result = JSON.parse(line.slice("CHILD_RESULT ".length)) as ChildResult;
    if (!result.ok) {
        throw new Error(`${args[0]} process: ${result.error}`);
    }
    return { ms, result };
}

/**
 * Registrations of the two first runs that differ: for the tree replay every
 * resource by URN, in everything the replay makes again; for the flat one the
 * custom resources by type and name, in their inputs.
 */
export function compareRecorded(program: readonly Recorded[], replay: readonly Recorded[], shape: ReplayShape): string[] {
    const key = (r: Recorded) => (shape === "tree" ? r.urn : `${r.type}::${r.name}`);
    const compared = (r: Recorded) => (shape === "tree" ? JSON.stringify({ ...r, dependsOn: [...r.dependsOn].sort() }) : JSON.stringify(r.inputs));
    const read = (list: readonly Recorded[]) => new Map(list.filter((r) => shape === "tree" || r.custom).map((r) => [key(r), r]));
    const [expected, made] = [read(program), read(replay)];
    const differ: string[] = [];
    for (const [k, r] of expected) {
        const b = made.get(k);
        if (!b) {
            differ.push(`${k}: not registered by the ${shape} replay`);
        } else if (compared(r) !== compared(b)) {
            differ.push(`${k}: ${shape === "tree" ? "registration" : "inputs"} differs`);
        }
    }
    for (const k of made.keys()) {
        if (!expected.has(k)) {
            differ.push(`${k}: registered by the ${shape} replay only`);
        }
    }
    return differ;
}

/** The ECR stack of a fleet laid out as `npm run bench` lays it out: what every child reads. */
export async function stackInputOf(size: FleetSize): Promise<StackInput> {
    // Loaded here, not at the top: the children load nothing of the package but what they run.
    const { generateFleet, planFleet, REGISTRY_ACCOUNT, REGION } = await import("./fleet");
    const fleet = generateFleet(planFleet(size).options);
    return {
        stack: "ecr",
        config: { ...fleet.ecrConfig, "ecrpull:program": "ecr" },
        accountId: REGISTRY_ACCOUNT,
        region: REGION,
        references: fleet.references as unknown as Record<string, Record<string, unknown>>,
    };
}

export async function measureProcesses(args: ProcessArgs, progress: (text: string) => void = () => undefined): Promise<ProcessResult> {
    const { fleetLabel } = await import("./fleet");
    const size = args.size ?? DEFAULT_SIZE;
    const runs = args.runs ?? DEFAULT_RUNS;
    const base = { fleet: fleetLabel(size), node: process.version, build: "tsc (tsconfig.build.json) to JavaScript, plain node", runs };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-process-"));
    try {
        progress(`compiling the program and the baseline with tsc ...`);
        const script = compile(dir);
        const input = await stackInputOf(size);
        const files = {
            input: path.join(dir, "input.json"),
            program: path.join(dir, "program.json"),
            baseline: path.join(dir, "baseline.json"),
            flat: path.join(dir, "flat.json"),
        };
        fs.writeFileSync(files.input, JSON.stringify(input));
        const read = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Recorded[];

        // Untimed first runs: record the registrations, check that each replay makes the same, warm the file cache.
        progress(`${base.fleet}: a first program run records its registrations ...`);
        spawnChild(script, ["program", files.input, files.program]);
        progress(`${base.fleet}: a first run of each replay makes them again ...`);
        spawnChild(script, ["baseline", files.input, files.program, files.baseline]);
        spawnChild(script, ["flat", files.input, files.program, files.flat]);
        const mismatches = [
            ...compareRecorded(read(files.program), read(files.baseline), "tree"),
            ...compareRecorded(read(files.program), read(files.flat), "flat").map((m) => `flat: ${m}`),
        ];

        // Program, baseline and flat in turn, the order rotated each round so that the machine's load falls on all alike.
        const kinds = ["program", "baseline", "flat"] as const;
        const measured: Record<(typeof kinds)[number], { ms: number; result: ChildResult }[]> = { program: [], baseline: [], flat: [] };
        for (let i = 0; i < runs; i++) {
            for (let k = 0; k < kinds.length; k++) {
                const kind = kinds[(i + k) % kinds.length];
                measured[kind].push(spawnChild(script, kind === "program" ? ["program", files.input] : [kind, files.input, files.program]));
            }
            const s = (kind: (typeof kinds)[number]) => (measured[kind][i].ms / 1000).toFixed(2);
            progress(`${base.fleet}: round ${i + 1} of ${runs}: program ${s("program")} s, baseline ${s("baseline")} s, flat ${s("flat")} s`);
        }
        const side = (runsOf: readonly { ms: number; result: ChildResult }[]): ProcessSide => {
            const last = runsOf[runsOf.length - 1].result;
            return {
                samples: runsOf.map((m) => m.ms),
                medianMs: median(runsOf.map((m) => m.ms)),
                cpuSamples: runsOf.map((m) => m.result.cpuMs),
                cpuMedianMs: median(runsOf.map((m) => m.result.cpuMs)),
                modules: last.modules,
                packages: last.packages,
                registered: last.registered,
                custom: last.custom,
                maxRssKiB: Math.max(...runsOf.map((m) => m.result.maxRssKiB)),
            };
        };
        const [p, b, f] = [side(measured.program), side(measured.baseline), side(measured.flat)];
        return {
            ok: mismatches.length === 0,
            error: mismatches.length > 0 ? `${mismatches.length} registrations differ` : undefined,
            ...base,
            program: p,
            baseline: b,
            flat: f,
            ratio: p.medianMs / b.medianMs,
            pairRatio: median(p.samples.map((ms, i) => ms / b.samples[i])),
            flatRatio: p.medianMs / f.medianMs,
            mismatches,
        };
    } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e), ...base };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The packages (and own files) the program loaded beyond the baseline's, most modules first. */
export function extraPackages(result: ProcessResult): { name: string; modules: number }[] {
    const program = result.program?.packages ?? {};
    const baseline = result.baseline?.packages ?? {};
    return Object.entries(program)
        .map(([name, n]) => ({ name, modules: n - (baseline[name] ?? 0) }))
        .filter((x) => x.modules > 0)
        .sort((a, b) => b.modules - a.modules);
}

/** The report lines, shared with bench/run.ts. */
export function describe(result: ProcessResult): string[] {
    const s = (ms: number) => (ms / 1000).toFixed(2);
    if (!result.program || !result.baseline || !result.flat) {
        return [`ECR program as a whole process (${result.fleet}): not measured: ${result.error}`];
    }
    const { program, baseline, flat } = result;
    const extra = extraPackages(result);
    const line = (label: string, side: ProcessSide, what: string) =>
        `  ${label.padEnd(58)} ${s(side.medianMs)} s  [${side.samples.map(s).join(", ")}]  CPU ${s(side.cpuMedianMs)} s, ${side.modules} modules, ${what}, peak ${Math.round(side.maxRssKiB / 1024)} MiB`;
    return [
        `ECR program as a whole process against SDK-only processes (${result.fleet}; ${result.build}, node ${result.node}; spawn to exit, median of ${result.runs} runs each, in rotating order):`,
        line("program (stacks/index.ts, stack ecr):", program, `${program.registered} registered (${program.custom} custom)`),
        line("baseline (the same registrations by the SDK alone):", baseline, `${baseline.registered} registered (${baseline.custom} custom)`),
        line("flat (the custom resources alone, no components):", flat, `${flat.registered} registered`),
        `  ratio to the baseline ${result.ratio!.toFixed(2)}x (median of the rounds' ratios ${result.pairRatio!.toFixed(2)}x; CPU time ${(program.cpuMedianMs / baseline.cpuMedianMs).toFixed(2)}x); to the flat replay ${result.flatRatio!.toFixed(2)}x (CPU time ${(program.cpuMedianMs / flat.cpuMedianMs).toFixed(2)}x), for the record`,
        `  same registrations (URN, parent, inputs, aliases, dependencies, options): ${result.mismatches?.length === 0 ? "yes" : `NO (${result.mismatches?.slice(0, 5).join("; ")})`}`,
        `  modules the program loaded beyond the baseline's: ${extra.length === 0 ? "none" : extra.map((x) => `${x.name} ${x.modules}`).join(", ")}`,
    ];
}

async function main(): Promise<void> {
    const [mode, ...rest] = process.argv.slice(2);
    if (mode === "program" || mode === "baseline" || mode === "flat") {
        const result =
            mode === "program" ? await programChild(rest[0], rest[1]) : await replayChild(mode === "baseline" ? "tree" : "flat", rest[0], rest[1], rest[2]);
        process.stdout.write(`CHILD_RESULT ${JSON.stringify(result)}\n`);
        return;
    }
    const args = mode ? (JSON.parse(mode) as ProcessArgs) : {};
    const result = await measureProcesses(args, (text) => process.stderr.write(`  ${text}\n`));
    for (const line of describe(result)) {
        process.stdout.write(`${line}\n`);
    }
    const verdict = result.ratio === undefined || !result.ok ? "FAIL" : result.ratio <= PROCESS_TARGET ? "PASS" : "FAIL";
    process.stdout.write(`target whole process <= ${PROCESS_TARGET}x the SDK-only one: ${result.ratio?.toFixed(2) ?? "not measured"}x ${verdict}\n`);
    process.stdout.write(`PROCESS_RESULT ${JSON.stringify(result)}\n`);
}

if (require.main === module) {
    void main();
}
