/**
 * Runs commands in an emulated pod: a new network namespace with nothing but
 * loopback (127.0.0.1, plus 169.254.170.23 for the Pod Identity agent, and
 * 169.254.169.254 for the Instance Metadata Service when the run is a
 * process on an EC2 instance, node.ts) and a
 * new mount namespace where the pod's files sit at their exact absolute paths
 * (tmpfs + overlays, see pod-init.js), `/etc/hosts` sends the AWS host names
 * to 127.0.0.1, and a relay pipes 127.0.0.1:443 and 169.254.170.23:80 (and
 * 169.254.169.254:80 on a node) to the endpoint's Unix sockets in this (the mocha) process, where every decision
 * is made. The environment is the container's and nothing else, plus HOME
 * (an empty directory), PATH, and the test CA in the variables the clients
 * read (AWS_CA_BUNDLE: AWS CLI, botocore, Go SDK; NODE_EXTRA_CA_CERTS: Node).
 * Needs root (unshare); `podsUnavailable` says why when they cannot run.
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AwsEndpoint } from "../aws/endpoint";
import { IMDS_HOST } from "../aws/imds";
import { AGENT_HOST } from "../aws/pod-identity";
import { WorldCluster, WorldInstance } from "../aws/world";
import { PodFile } from "./types";

export const POD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const TEST_CA_PATH = "/etc/ssl/ecrpull-test/ca.pem";
const POD_INIT = path.join(__dirname, "pod-init.js");

export interface Command {
    readonly argv: readonly string[];
    readonly stdin?: string;
    readonly timeoutMs?: number;
}

export interface CommandResult {
    readonly exitCode: number | null;
    readonly signal: string | null;
    readonly timedOut: boolean;
    readonly ms: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface PodRun {
    readonly runId: string;
    readonly results: readonly CommandResult[];
    /** Namespace and file set-up inside the pod. */
    readonly setupMs: number;
    readonly ms: number;
    /** The pod's network interfaces and addresses (`lo:127.0.0.1`…), as seen inside it. */
    readonly interfaces: readonly string[];
    /** The environment the commands ran with. */
    readonly env: Readonly<Record<string, string>>;
}

/** What a run needs of what it runs in: an emulated pod (kubelet.ts) or a process on a node (node.ts). */
export interface Sandbox {
    readonly name: string;
    /** The cluster whose node it runs on (the Pod Identity agent's). */
    readonly cluster?: WorldCluster;
    readonly env: readonly (readonly [string, string])[];
    readonly files: readonly PodFile[];
    /** The EC2 instance it runs on, when its IMDS is reachable (a process on a node; never a pod here). */
    readonly instance?: WorldInstance;
}

/** Undefined when pods can run here; else why not. */
export function podsUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) {
        return "the emulated pods need root (unshare --net --mount); this process is not root";
    }
    const probe = childProcess.spawnSync(
        "/usr/bin/unshare",
        ["--net", "--mount", "--propagation", "private", "--", "/usr/sbin/ip", "link", "set", "lo", "up"],
        { encoding: "utf8" },
    );
    if (probe.error || probe.status !== 0) {
        return `unshare --net --mount does not work here: ${probe.error?.message ?? probe.stderr.trim()}`;
    }
    return undefined;
}

function hostsFile(names: readonly string[]): string {
    return ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", `127.0.0.1\t${names.join(" ")}`, ""].join("\n");
}

let runs = 0;

export async function runInPod(endpoint: AwsEndpoint, pod: Sandbox, commands: readonly Command[], label = pod.name): Promise<PodRun> {
    const runId = `${++runs}-${label}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-pod-"));
    const stage = path.join(dir, "stage");
    fs.mkdirSync(stage);
    const sockets = await endpoint.openRun(runId, dir, pod.cluster, pod.instance);
    const started = Date.now();
    try {
        const env: Record<string, string> = {
            ...Object.fromEntries(pod.env),
            HOME: path.join(stage, "home"),
            PATH: POD_PATH,
            AWS_CA_BUNDLE: TEST_CA_PATH,
            NODE_EXTRA_CA_CERTS: TEST_CA_PATH,
        };
        const files: PodFile[] = [
            ...pod.files,
            { path: "/etc/hosts", content: hostsFile(endpoint.hostNames), mode: 0o644 },
            { path: TEST_CA_PATH, content: endpoint.tls.caPem, mode: 0o644 },
        ];
        const spec = {
            stage,
            loopbackAddresses: [`${AGENT_HOST}/32`, ...(sockets.imds ? [`${IMDS_HOST}/32`] : [])],
            files,
            env,
            relays: [
                { listen: { host: "127.0.0.1", port: 443 }, socket: sockets.aws },
                { listen: { host: AGENT_HOST, port: 80 }, socket: sockets.agent },
                ...(sockets.imds ? [{ listen: { host: IMDS_HOST, port: 80 }, socket: sockets.imds }] : []),
            ],
            commands,
        };
        const output = await new Promise<string>((resolve, reject) => {
            const child = childProcess.spawn("/usr/bin/unshare", ["--net", "--mount", "--propagation", "private", "--", process.execPath, POD_INIT], {
                stdio: ["pipe", "pipe", "pipe"],
            });
            const out: Buffer[] = [];
            const err: Buffer[] = [];
            child.stdout.on("data", (c: Buffer) => out.push(c));
            child.stderr.on("data", (c: Buffer) => err.push(c));
            child.on("error", reject);
            child.on("close", (code) => {
                const text = Buffer.concat(out).toString("utf8");
                if (code !== 0 && !text.startsWith("{")) {
                    reject(new Error(`pod ${label}: unshare/pod-init exited ${code}: ${Buffer.concat(err).toString("utf8")}`));
                } else {
                    resolve(text);
                }
            });
            child.stdin.end(JSON.stringify(spec));
        });
        const parsed = JSON.parse(output) as { error?: string; setupMs: number; interfaces: string[]; results: CommandResult[] };
        if (parsed.error) {
            throw new Error(`pod ${label}: ${parsed.error}`);
        }
        return { runId, results: parsed.results, setupMs: parsed.setupMs, interfaces: parsed.interfaces, ms: Date.now() - started, env };
    } finally {
        await sockets.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
