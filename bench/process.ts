/**
 * The ECR stack program as a whole process against a process that loads only
 * the Pulumi SDKs and registers the same resources (issue 13: at most 1.2x).
 *
 *   npx ts-node --transpile-only bench/process.ts                # the target fleet, 7 runs of each
 *   npx ts-node --transpile-only bench/process.ts '{"runs": 5}'  # what bench/run.ts passes: { size, runs }
 *
 * Two kinds of fresh `node` process, on the Pulumi SDK's mock engine
 * (tools/engine/mock-engine.ts, which both load), against the fleet of
 * bench/fleet.ts (by default the target fleet, 100 clusters, 50 tenants and
 * 500 repositories, laid out by `planFleet` as `npm run bench` lays it out):
 *
 * - program: the stack program as the language host runs it: the SDK is set
 *   up, then Pulumi.yaml's `main` (stacks/index.ts) is `require`d and the
 *   stack's outputs are what its export resolves to; stack `ecr`, the fleet's
 *   ECR config, every EKS stack's outputs behind the stack references;
 * - baseline: a process that loads `@pulumi/pulumi` and `@pulumi/aws` (and the
 *   mock engine) only and registers the custom resources a first program run
 *   recorded (same type, name and inputs; stack references as
 *   `pulumi.StackReference`s), each by its SDK class (`aws.iam.Role`, ...),
 *   flat: no components, no parents, no program. A first run of each checks
 *   that both register the same resources with the same inputs. (It reads
 *   them from a file, about 1.2 MB of JSON for the target fleet, some 10 ms:
 *   what a program written out by hand would carry as literals.)
 *
 * Each is timed from spawn to exit in this process (wall clock: node's
 * start-up, module loading, the run and exit), alternating program and
 * baseline (the order swapped every pair) so that the shared machine's load
 * falls on both alike; the figures are the medians.
 *
 * Both run as JavaScript compiled by `tsc` (the package's build settings,
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
    readonly baseline?: ProcessSide;
    /** program median / baseline median: what the target judges. */
    readonly ratio?: number;
    /** The median of each pair's program / baseline (the pair ran back to back), for the record. */
    readonly pairRatio?: number;
    /** Custom resources whose type, name or inputs differ between the program's and the baseline's first runs. */
    readonly mismatches?: readonly string[];
}

interface Recorded {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly inputs: Record<string, any>;
}

/** What both kinds of child read: the stack's config and the referenced stacks' outputs. */
interface StackInput {
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
            const recorded: Recorded[] = run.resources.map((r) => ({ type: r.type, name: r.name, custom: r.custom, inputs: r.inputs }));
            fs.writeFileSync(save, JSON.stringify(recorded));
        }
        return childResult(true, undefined, run.resources);
    } catch (e) {
        return childResult(false, e instanceof Error ? (e.stack ?? e.message) : String(e), []);
    }
}

async function baselineChild(inputFile: string, load: string, save: string | undefined): Promise<ChildResult> {
    const pulumi = await import("@pulumi/pulumi");
    const aws = await import("@pulumi/aws");
    const { runProgram } = await import("../tools/engine/mock-engine");
    const input = JSON.parse(fs.readFileSync(inputFile, "utf8")) as StackInput;
    const recorded = (JSON.parse(fs.readFileSync(load, "utf8")) as Recorded[]).filter((r) => r.custom);
    const classOf = (type: string): (new (name: string, inputs: any) => unknown) | undefined => {
        if (type === "pulumi:pulumi:StackReference") {
            return class {
                constructor(name: string, inputs: any) {
                    return new pulumi.StackReference(name, { name: inputs.name });
                }
            };
        }
        if (type === "pulumi:providers:aws") {
            return aws.Provider;
        }
        const [pkg, module, cls] = type.split(":");
        const namespace = module.split("/")[0];
        const holder = pkg !== "aws" ? undefined : namespace === "index" ? aws : (aws as unknown as Record<string, unknown>)[namespace];
        const found = (holder as Record<string, unknown> | undefined)?.[cls];
        return typeof found === "function" ? (found as new (name: string, inputs: any) => unknown) : undefined;
    };
    try {
        const run = await runProgram(
            async () => {
                for (const r of recorded) {
                    const Class = classOf(r.type);
                    if (!Class) {
                        throw new Error(`the baseline has no SDK class for ${r.type}`);
                    }
                    new Class(r.name, r.inputs);
                }
                return {};
            },
            { stack: input.stack, config: input.config, accountId: input.accountId, region: input.region, stackReferences: input.references },
        );
        if (save) {
            fs.writeFileSync(save, JSON.stringify(run.resources.map((r) => ({ type: r.type, name: r.name, custom: r.custom, inputs: r.inputs }))));
        }
        if (run.resources.length !== recorded.length) {
            return childResult(false, `the baseline registered ${run.resources.length} resources, the program ${recorded.length}`, run.resources);
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

/** Custom resources of the two first runs that differ in type, name or inputs. */
function compareRecorded(programFile: string, baselineFile: string): string[] {
    const key = (r: Recorded) => `${r.type}::${r.name}`;
    const read = (file: string) => new Map((JSON.parse(fs.readFileSync(file, "utf8")) as Recorded[]).filter((r) => r.custom).map((r) => [key(r), r]));
    const [program, baseline] = [read(programFile), read(baselineFile)];
    const differ: string[] = [];
    for (const [k, r] of program) {
        const b = baseline.get(k);
        if (!b) {
            differ.push(`${k}: not registered by the baseline`);
        } else if (JSON.stringify(r.inputs) !== JSON.stringify(b.inputs)) {
            differ.push(`${k}: inputs differ`);
        }
    }
    for (const k of baseline.keys()) {
        if (!program.has(k)) {
            differ.push(`${k}: registered by the baseline only`);
        }
    }
    return differ;
}

export async function measureProcesses(args: ProcessArgs, progress: (text: string) => void = () => undefined): Promise<ProcessResult> {
    const { fleetLabel, generateFleet, planFleet, REGISTRY_ACCOUNT, REGION } = await import("./fleet");
    const size = args.size ?? DEFAULT_SIZE;
    const runs = args.runs ?? DEFAULT_RUNS;
    const base = { fleet: fleetLabel(size), node: process.version, build: "tsc (tsconfig.build.json) to JavaScript, plain node", runs };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-process-"));
    try {
        progress(`compiling the program and the baseline with tsc ...`);
        const script = compile(dir);
        const fleet = generateFleet(planFleet(size).options);
        const input: StackInput = {
            stack: "ecr",
            config: { ...fleet.ecrConfig, "ecrpull:program": "ecr" },
            accountId: REGISTRY_ACCOUNT,
            region: REGION,
            references: fleet.references as unknown as Record<string, Record<string, unknown>>,
        };
        const files = { input: path.join(dir, "input.json"), program: path.join(dir, "program.json"), baseline: path.join(dir, "baseline.json") };
        fs.writeFileSync(files.input, JSON.stringify(input));

        // Untimed first runs: record the resources, check the baseline registers the same, warm the file cache.
        progress(`${base.fleet}: a first program run records its resources ...`);
        spawnChild(script, ["program", files.input, files.program]);
        progress(`${base.fleet}: a first baseline run replays them ...`);
        spawnChild(script, ["baseline", files.input, files.program, files.baseline]);
        const mismatches = compareRecorded(files.program, files.baseline);

        const program: { ms: number; result: ChildResult }[] = [];
        const baseline: { ms: number; result: ChildResult }[] = [];
        for (let i = 0; i < runs; i++) {
            const order = i % 2 === 0 ? (["program", "baseline"] as const) : (["baseline", "program"] as const);
            for (const kind of order) {
                if (kind === "program") {
                    program.push(spawnChild(script, ["program", files.input]));
                } else {
                    baseline.push(spawnChild(script, ["baseline", files.input, files.program]));
                }
            }
            progress(
                `${base.fleet}: pair ${i + 1} of ${runs}: program ${(program[i].ms / 1000).toFixed(2)} s, baseline ${(baseline[i].ms / 1000).toFixed(2)} s`,
            );
        }
        const side = (measured: readonly { ms: number; result: ChildResult }[]): ProcessSide => {
            const last = measured[measured.length - 1].result;
            return {
                samples: measured.map((m) => m.ms),
                medianMs: median(measured.map((m) => m.ms)),
                cpuSamples: measured.map((m) => m.result.cpuMs),
                cpuMedianMs: median(measured.map((m) => m.result.cpuMs)),
                modules: last.modules,
                packages: last.packages,
                registered: last.registered,
                custom: last.custom,
                maxRssKiB: Math.max(...measured.map((m) => m.result.maxRssKiB)),
            };
        };
        const [p, b] = [side(program), side(baseline)];
        return {
            ok: mismatches.length === 0,
            error: mismatches.length > 0 ? `${mismatches.length} resources differ` : undefined,
            ...base,
            program: p,
            baseline: b,
            ratio: p.medianMs / b.medianMs,
            pairRatio: median(p.samples.map((ms, i) => ms / b.samples[i])),
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
    if (!result.program || !result.baseline) {
        return [`ECR program as a whole process (${result.fleet}): not measured: ${result.error}`];
    }
    const { program, baseline } = result;
    const extra = extraPackages(result);
    return [
        `ECR program as a whole process against an SDK-only process (${result.fleet}; ${result.build}, node ${result.node}; spawn to exit, median of ${result.runs} alternating runs each):`,
        `  program  (stacks/index.ts, stack ecr):                  ${s(program.medianMs)} s  [${program.samples.map(s).join(", ")}]  ${program.modules} modules, ${program.custom} custom resources of ${program.registered} registered, peak ${Math.round(program.maxRssKiB / 1024)} MiB`,
        `  baseline (@pulumi/pulumi + @pulumi/aws, flat by class): ${s(baseline.medianMs)} s  [${baseline.samples.map(s).join(", ")}]  ${baseline.modules} modules, ${baseline.custom} custom resources, peak ${Math.round(baseline.maxRssKiB / 1024)} MiB`,
        `  ratio ${result.ratio!.toFixed(2)}x (median of the pairs' ratios ${result.pairRatio!.toFixed(2)}x); CPU time ${s(program.cpuMedianMs)} s against ${s(baseline.cpuMedianMs)} s, ${(program.cpuMedianMs / baseline.cpuMedianMs).toFixed(2)}x`,
        `  same type, name and inputs: ${result.mismatches?.length === 0 ? "yes" : `NO (${result.mismatches?.slice(0, 5).join("; ")})`}`,
        `  modules the program loaded beyond the baseline's: ${extra.length === 0 ? "none" : extra.map((x) => `${x.name} ${x.modules}`).join(", ")}`,
    ];
}

async function main(): Promise<void> {
    const [mode, ...rest] = process.argv.slice(2);
    if (mode === "program" || mode === "baseline") {
        const result = mode === "program" ? await programChild(rest[0], rest[1]) : await baselineChild(rest[0], rest[1], rest[2]);
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
