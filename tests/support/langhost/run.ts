/**
 * Runs the project's program the way `pulumi preview` / `pulumi up` runs it:
 * `node @pulumi/pulumi/cmd/run` with the arguments and environment that
 * pulumi-language-nodejs gives it (sdk/nodejs/cmd/pulumi-language-nodejs,
 * `constructArguments`, `constructConfig`, `execRuntime`), against the fake
 * engine of `engine.ts` served over gRPC on Unix sockets.
 *
 * The child runs in a network namespace of its own (`unshare --net`, only
 * loopback up), so nothing the program does can reach any other address;
 * the Unix sockets are files, so it still reaches the engine. Its resolver
 * points at 127.0.0.1 (a private mount namespace), so a lookup fails at
 * once instead of waiting for a nameserver it cannot reach.
 *
 * What the CLI does before the language host runs, done here too:
 * - Pulumi.yaml's `main` (stacks/index.ts) becomes `--pwd <root>/stacks` and
 *   the entry point `index.ts` (pkg/engine `getPwdMain`);
 * - `runtime.options.typescript: true` becomes PULUMI_NODEJS_TYPESCRIPT=true,
 *   so run.js registers ts-node; with no tsconfig.json in the program
 *   directory ts-node runs with run.js's defaults;
 * - config: every value a string, objects and lists as JSON, the project's
 *   declared defaults added for keys the stack does not set; keys handed to
 *   the program as `<namespace>:config:<name>` in PULUMI_CONFIG, secret keys
 *   in PULUMI_CONFIG_SECRET_KEYS.
 *
 * One difference: the language host also passes `--sync <dir>` (pipes for
 * synchronous invokes); nothing in this SDK version's asynchronous path uses
 * them, so it is left out.
 */
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readProject, withDeclaredDefaults } from "../../../tools/state/project-config";
import { Creation, Diagnostic, EngineOptions, FakeEngine, InvokeRecord, Registration } from "./engine";
import { World, WorldFixture } from "./world";

export const ROOT = path.resolve(__dirname, "../../..");

/** Exit code of run.js after it has shown the user an actionable message (cmd/run/index.js). */
export const EXIT_AFTER_USER_MESSAGE = 32;

export interface LanghostRunOptions {
    /** Short stack name (`eks`), as `pulumi.getStack()` returns it. */
    readonly stack: string;
    /** The stack file's config, keys with their namespace (`ecrpull:cluster`, `aws:region`). */
    readonly config: Readonly<Record<string, unknown>>;
    readonly mode: "preview" | "up";
    /** The account the program's credentials belong to. */
    readonly accountId: string;
    readonly region: string;
    /** What exists in the cloud; a run's creates are added to it. Default: an empty world. */
    readonly world?: World;
    /** Outputs of the stacks the program references, by fully qualified name. */
    readonly stackReferences?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    readonly organization?: string;
    /** `--parallel`. Default 16. */
    readonly parallel?: number;
    /** Real milliseconds per simulated second of create time. Default 2 (an EKS cluster takes 1.2 s). */
    readonly msPerSecond?: number;
    /**
     * Let ts-node type-check the program, as `pulumi up` does by default. Default false: the
     * language host's own switch PULUMI_NODEJS_TRANSPILE_ONLY=true is set, which saves
     * seconds per run; the programs are type-checked by `npm test`'s tsc anyway.
     */
    readonly typeCheck?: boolean;
    /** What the stack's state holds before the run, by URN (see `EngineOptions.state`). */
    readonly state?: EngineOptions["state"];
    /** Kill the program after this long. Default 120 s. */
    readonly timeoutMs?: number;
}

export interface LanghostRun {
    readonly exitCode: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    /** Every diagnostic: the program's (Engine.Log) and the engine's own (failed creates). */
    readonly diagnostics: readonly Diagnostic[];
    /** RegisterResource and ReadResource requests, in order of arrival. */
    readonly registrations: readonly Registration[];
    /** Creates in the order they reached the fake cloud (none in a preview). */
    readonly creations: readonly Creation[];
    readonly failures: readonly Creation[];
    readonly invokes: readonly InvokeRecord[];
    /** The stack's outputs as registered (RegisterResourceOutputs on the stack); undefined when none were. */
    readonly stackOutputs: Record<string, any> | undefined;
    /** RPCs the SDK made, by method, in order. */
    readonly calls: readonly string[];
    readonly featureQueries: readonly string[];
    /** The first failed create, when the deployment stopped. */
    readonly stoppedBy: string | undefined;
    /** The command line and the PULUMI_* environment the child got. */
    readonly argv: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    readonly durationMs: number;
    readonly world: World;
}

/** Config as the CLI hands it to the language host: every value a string, objects as JSON (sorted keys, as Go marshals maps). */
export function cliConfig(config: Readonly<Record<string, unknown>>): Record<string, string> {
    const project = readProject(path.join(ROOT, "Pulumi.yaml"));
    const merged = withDeclaredDefaults(project, config);
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(merged)) {
        out[key] = typeof value === "string" ? value : goJson(value);
    }
    return out;
}

function goJson(value: unknown): string {
    const sort = (v: unknown): unknown => {
        if (Array.isArray(v)) {
            return v.map(sort);
        }
        if (v !== null && typeof v === "object") {
            return Object.fromEntries(
                Object.keys(v as object)
                    .sort()
                    .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
            );
        }
        return v;
    };
    return JSON.stringify(sort(value));
}

/** PULUMI_CONFIG as pulumi-language-nodejs writes it: keys `<namespace>:config:<name>`. */
export function pulumiConfigVariable(config: Readonly<Record<string, string>>): string {
    const transformed: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        const at = key.indexOf(":");
        transformed[`${key.slice(0, at)}:config:${key.slice(at + 1)}`] = value;
    }
    return JSON.stringify(transformed);
}

/** Where the CLI runs the program: Pulumi.yaml's `main` split into directory and entry point. */
export function programLocation(): { pwd: string; entryPoint: string; projectName: string; typescript: boolean } {
    const yaml = require("js-yaml"); // eslint-disable-line @typescript-eslint/no-require-imports
    const document = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const main = path.join(ROOT, document.main ?? ".");
    const isDir = fs.statSync(main).isDirectory();
    return {
        pwd: isDir ? main : path.dirname(main),
        entryPoint: isDir ? "." : path.basename(main),
        projectName: document.name,
        typescript: document.runtime?.options?.typescript !== false,
    };
}

let unshareChecked: boolean | undefined;

/** Whether this machine lets us make a network namespace (root, unshare, ip). */
export function canIsolateNetwork(): boolean {
    if (unshareChecked === undefined) {
        const { spawnSync } = require("child_process"); // eslint-disable-line @typescript-eslint/no-require-imports
        const probe = spawnSync("unshare", ["--net", "--mount", "--", "sh", "-c", "ip link set lo up && ip -o link show"], { encoding: "utf8" });
        const links = String(probe.stdout ?? "")
            .split("\n")
            .filter((l) => l.trim() !== "");
        // The namespace has loopback and nothing else.
        unshareChecked = probe.status === 0 && links.length === 1 && /^\d+: lo:/.test(links[0]);
    }
    return unshareChecked;
}

export async function runLanghost(options: LanghostRunOptions): Promise<LanghostRun> {
    if (!canIsolateNetwork()) {
        throw new Error("cannot create a network namespace (unshare --net): the language-host harness needs root and util-linux");
    }
    const started = Date.now();
    const location = programLocation();
    const world = options.world ?? new World();
    const config = cliConfig({ ...options.config });
    const organization = options.organization ?? "acme";
    const parallel = options.parallel ?? 16;
    const preview = options.mode === "preview";
    const engineOptions: EngineOptions = {
        project: location.projectName,
        stack: options.stack,
        organization,
        preview,
        parallel,
        place: { accountId: options.accountId, region: options.region },
        world,
        stackReferences: options.stackReferences,
        config,
        msPerSecond: options.msPerSecond ?? 2,
        state: options.state,
    };
    const engine = new FakeEngine(engineOptions);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-langhost-"));
    const monitorAddress = `unix:${path.join(dir, "monitor.sock")}`;
    const engineAddress = `unix:${path.join(dir, "engine.sock")}`;
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    engine.addToServer(server);
    for (const address of [monitorAddress, engineAddress]) {
        await new Promise<void>((resolve, reject) =>
            server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
        );
    }

    const runPath = require.resolve("@pulumi/pulumi/cmd/run", { paths: [location.pwd] });
    const args = [
        runPath,
        "--monitor",
        monitorAddress,
        "--engine",
        engineAddress,
        "--organization",
        organization,
        "--project",
        location.projectName,
        "--root-directory",
        ROOT,
        "--stack",
        options.stack,
        "--pwd",
        location.pwd,
        ...(preview ? ["--dry-run"] : []),
        "--parallel",
        String(parallel),
        location.entryPoint,
    ];
    const pulumiEnv: Record<string, string> = {
        PULUMI_CONFIG: pulumiConfigVariable(config),
        PULUMI_CONFIG_SECRET_KEYS: "[]",
        ...(location.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
        ...(options.typeCheck ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
    };
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...pulumiEnv };
    // A mount namespace too, to give the child a resolv.conf naming loopback: with the host's
    // nameserver out of reach, every DNS lookup would wait out the resolver's timeouts (tens of
    // seconds); against 127.0.0.1 it fails at once, as with no DNS at all.
    const resolvConf = path.join(dir, "resolv.conf");
    fs.writeFileSync(resolvConf, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
    const setup = `ip link set lo up && mount --bind ${resolvConf} /etc/resolv.conf && exec "$@"`;
    const argv = ["unshare", "--net", "--mount", "--", "sh", "-c", setup, "langhost", process.execPath, ...args];

    let stdout = "";
    let stderr = "";
    const child: ChildProcess = spawn(argv[0], argv.slice(1), { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timeout = setTimeout(() => {
        stderr += `\n[harness] killed after ${options.timeoutMs ?? 120000} ms\n`;
        try {
            process.kill(-child.pid!, "SIGKILL");
        } catch {
            // already gone
        }
    }, options.timeoutMs ?? 120000);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (code, sig) => resolve([code, sig])));
    clearTimeout(timeout);

    await engine.idle();
    server.forceShutdown();
    fs.rmSync(dir, { recursive: true, force: true });

    return {
        exitCode,
        signal,
        stdout,
        stderr,
        diagnostics: engine.diagnostics,
        registrations: engine.registrations,
        creations: engine.creations,
        failures: engine.creations.filter((c) => c.outcome === "failed"),
        invokes: engine.invokes,
        stackOutputs: engine.stackOutputs,
        calls: engine.calls,
        featureQueries: engine.featureQueries,
        stoppedBy: engine.stoppedBy,
        argv,
        env: pulumiEnv,
        durationMs: Date.now() - started,
        world,
    };
}

/** The error diagnostics of a run, as the CLI would print them. */
export function errorsOf(run: LanghostRun): string[] {
    return run.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

export { World, WorldFixture };
