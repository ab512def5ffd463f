/**
 * Runs scenarios (a pod setup, or a process on a node, and the operations to
 * make from it) with each real client in emulated pods against the local
 * endpoint, a few at a time, and keeps what each run gave: the client's results, the endpoint's
 * decisions for that run, timings. Also keeps why a client, or a client on
 * one path, was skipped, and prints one summary line per skipped client.
 */
import { Decision } from "../aws/control-plane";
import { AwsEndpoint } from "../aws/endpoint";
import { World } from "../aws/world";
import { EmulatedPod, emulatePod, PodDeclaration } from "../pod/kubelet";
import { EmulatedNode, emulateNode, isNodeDeclaration, NodeDeclaration } from "../pod/node";
import { PodRun, runInPod } from "../pod/run";
import { goBuild, Op, OpResult, RealClient } from "./real-clients";
import { IamSimulator } from "../simulate";

export interface Scenario {
    /** Unique: `<group>/<name>`. */
    readonly key: string;
    /** A pod, or a process on a node (no pod: its credentials come from the instance's IMDS). */
    readonly setup: PodDeclaration | NodeDeclaration;
    readonly ops: readonly Op[];
}

export interface ScenarioRun {
    readonly scenario: Scenario;
    readonly client: RealClient;
    readonly pod: EmulatedPod | EmulatedNode;
    readonly run: PodRun;
    readonly results: readonly OpResult[];
    readonly decisions: readonly Decision[];
    /** From get-caller-identity, when it succeeded. */
    readonly callerArn?: string;
}

export interface Skip {
    readonly client: RealClient;
    /** `all` or a path. */
    readonly scope: string;
    readonly reason: string;
}

/** Runs `tasks` with at most `limit` at once. */
export async function pool<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            const i = next++;
            results[i] = await tasks[i]();
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    return results;
}

export class Harness {
    world!: World;
    endpoint!: AwsEndpoint;
    readonly simulator = new IamSimulator();
    readonly usable: RealClient[] = [];
    readonly skips: Skip[] = [];
    private readonly runs = new Map<string, ScenarioRun>();
    private readonly pods = new Map<string, EmulatedPod | EmulatedNode>();
    readonly timings = { startedAt: Date.now(), worldMs: 0, goBuildMs: 0, goBuildCached: false, runsMs: 0 };

    constructor(readonly clients: readonly RealClient[]) {}

    async start(makeWorld: () => Promise<World>): Promise<void> {
        const t = Date.now();
        this.world = await makeWorld();
        this.endpoint = new AwsEndpoint(this.world, this.simulator);
        this.timings.worldMs = Date.now() - t;
        for (const client of this.clients) {
            const reason = await client.prepare();
            if (reason) {
                this.skip(client, "all", reason);
            } else {
                this.usable.push(client);
            }
        }
        this.timings.goBuildMs = goBuild.ms;
        this.timings.goBuildCached = goBuild.cached;
    }

    skip(client: RealClient, scope: string, reason: string): void {
        this.skips.push({ client, scope, reason });
    }

    /** Why a client does not run a scenario of `scope`, if it does not. */
    skipReason(client: RealClient, scope: string): string | undefined {
        return this.skips.find((s) => s.client === client && (s.scope === "all" || s.scope === scope))?.reason;
    }

    private podOf(scenario: Scenario): EmulatedPod | EmulatedNode {
        let pod = this.pods.get(scenario.key);
        if (!pod) {
            pod = isNodeDeclaration(scenario.setup) ? emulateNode(scenario.setup) : emulatePod(this.world, scenario.setup);
            this.pods.set(scenario.key, pod);
        }
        return pod;
    }

    /** Runs every (scenario, client) pair not skipped for `scope(scenario)`. */
    async runAll(scenarios: readonly Scenario[], scope: (s: Scenario) => string, concurrency: number): Promise<void> {
        const t = Date.now();
        const tasks = scenarios.flatMap((scenario) =>
            this.usable
                .filter((client) => !this.skipReason(client, scope(scenario)))
                .map((client) => async () => {
                    const pod = this.podOf(scenario);
                    const run = await runInPod(this.endpoint, pod, client.commands(scenario.ops), `${scenario.key.replace(/[^\w.-]+/g, "_")}-${client.id}`);
                    const results = client.parse(scenario.ops, run.results);
                    const callerArn = results.find((r) => r.op === "get-caller-identity" && r.ok)?.arn;
                    this.runs.set(`${scenario.key}|${client.id}`, {
                        scenario,
                        client,
                        pod,
                        run,
                        results,
                        decisions: this.endpoint.plane.decisionsOf(run.runId),
                        callerArn,
                    });
                }),
        );
        await pool(tasks, concurrency);
        this.timings.runsMs += Date.now() - t;
    }

    get(scenarioKey: string, client: RealClient): ScenarioRun {
        const run = this.runs.get(`${scenarioKey}|${client.id}`);
        if (!run) {
            throw new Error(`no run of ${scenarioKey} with ${client.id}`);
        }
        return run;
    }

    all(): ScenarioRun[] {
        return [...this.runs.values()];
    }

    /** One line per skipped client (its reasons joined), the matrix and the timings. */
    summary(): string[] {
        const lines: string[] = [];
        for (const client of this.clients) {
            const skips = this.skips.filter((s) => s.client === client);
            if (skips.length > 0) {
                lines.push(
                    `[real-clients] SKIPPED ${client.label}${client.version ? ` ${client.version}` : ""}: ${skips.map((s) => `${s.scope === "all" ? "every test" : `path ${s.scope}`}: ${s.reason}`).join("; ")}`,
                );
            }
        }
        const byClient = new Map<string, number[]>();
        for (const r of this.runs.values()) {
            byClient.set(r.client.id, [...(byClient.get(r.client.id) ?? []), r.run.ms]);
            const outcome = r.results.map((x) => (x.ok ? `${x.op}:ok` : `${x.op}:${x.code}`)).join(" ");
            lines.push(
                `[real-clients] ${r.scenario.key.padEnd(38)} ${r.client.id.padEnd(7)} ${`${r.run.ms} ms`.padStart(8)} ${(r.callerArn ?? "-").padEnd(96)} ${outcome}`,
            );
        }
        const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
        lines.push(
            `[real-clients] timings: world ${this.timings.worldMs} ms; Go build ${this.timings.goBuildCached ? "cached" : `${this.timings.goBuildMs} ms`}; pod runs ${this.timings.runsMs} ms in all; per run (avg/max ms): ${[...byClient.entries()].map(([id, xs]) => `${id} ${avg(xs)}/${Math.max(...xs)} (${xs.length} runs)`).join(", ")}`,
        );
        if (this.endpoint?.strayRequests.length) {
            lines.push(`[real-clients] requests for hosts the endpoint does not serve: ${this.endpoint.strayRequests.join("; ")}`);
        }
        return lines;
    }
}
