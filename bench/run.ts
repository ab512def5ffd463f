/**
 * `npm run bench`: how the two stack programs scale with the fleet.
 *
 * For fleets of 10, 30, 100 and 300 clusters with 10, 30 and 100 tenants (10
 * repositories each), and the target fleet of 100 clusters, 50 tenants and
 * 500 repositories, runs on the Pulumi SDK's mock engine:
 *
 * - the ECR program against that many referenced EKS stacks, whose outputs
 *   bench/fleet.ts generates as the EKS program exports them;
 * - the EKS program for the fleet's cluster with the most workloads, and once
 *   for a cluster that runs every tenant of the largest fleet;
 * - for each, a baseline that registers the same custom resources (type,
 *   name, inputs) directly: each made by its SDK class (`aws.iam.Role`, ...),
 *   flat, with no components, no parents and none of the program's own work,
 *   on the same engine. So "overhead" is what the components and the program
 *   add over registering the same resources by hand. (An earlier baseline of
 *   raw `pulumi.CustomResource`s also left out the cost of the SDK classes
 *   themselves, which every program using these resource types pays; the
 *   decomposition printed under `--profile` shows both.)
 *
 * Each run is a child process of its own (bench/one.ts), so its peak memory is
 * its own. Prints the machine, a Markdown table per program (paste it into
 * the README as it is) and a verdict per target. No network traffic: the mock
 * engine answers everything, and thumbprints are not fetched.
 *
 *   npm run bench               # every fleet, a few minutes
 *   npm run bench -- --quick    # the 10-cluster fleets only (smoke check)
 *   npm run bench -- --profile  # profile the target (or largest) ECR run even when every target passes
 *
 * Full runs also time the ECR program as a whole process, node's start-up and module loading included,
 * against a process that loads only the Pulumi SDKs and makes the same registrations, components
 * included (bench/process.ts), and print the ratio to a flat replay of the custom resources alone.
 *
 * When a target fails (full runs), the target fleet's ECR run and its baseline are profiled with
 * `node --cpu-prof`, and the same resources replayed in two more shapes to split the overhead.
 */
import { spawnSync } from "child_process";
import type { GrowthCase } from "./growth";
import type { OrgResult } from "./org-scope";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clusterAccountLoad, FleetOptions, FleetPlan, FleetSize, fleetLabel, generateFleet, largestCluster, planFleet } from "./fleet";
import type { OneArgs, OneResult } from "./one";
import { PROCESS_TARGET, ProcessArgs, ProcessResult } from "./process";
import { ProfileSummary, summarizeProfile } from "./profile";

const ROOT = path.resolve(__dirname, "..");
const QUICK = process.argv.includes("--quick");
const FORCE_PROFILE = process.argv.includes("--profile");

const TARGET: FleetSize = { clusters: 100, tenants: 50, repositories: 500 };
const TARGET_SECONDS = 10;
const TARGET_MEMORY_MIB = 1024;
const TARGET_DOUBLING = 2.2;
const TARGET_OVERHEAD = 1.5;
/** Timed runs of each process in bench/process.ts (the ECR program as a whole process against an SDK-only one). */
const PROCESS_RUNS = 5;
const REGISTRY_QUOTAS = { oidcProviders: 100, roles: 1000 };

const CLUSTER_COUNTS = QUICK ? [10] : [10, 30, 100, 300];
const TENANT_COUNTS = [10, 30, 100];
const REPOSITORIES_PER_TENANT = 10;

// ---- Growth (bench/growth.ts, in a child) ------------------------------------

/**
 * Runs a bench script in a child process under ts-node and reads the one line
 * it prints as `<MARKER> <json>`; when there is none, the error says what the
 * child printed last.
 */
function benchChild<T>(script: string, args: unknown, marker: string, timeoutMinutes: number): { result?: T; stdout: string; error: string } {
    childCount++;
    const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script, JSON.stringify(args)], {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        timeout: timeoutMinutes * 60 * 1000,
    });
    const stdout = run.stdout ?? "";
    const line = stdout.split("\n").find((l) => l.startsWith(`${marker} `));
    return line
        ? { result: JSON.parse(line.slice(marker.length + 1)) as T, stdout, error: "" }
        : { stdout, error: `${script} printed no result: ${(run.stderr ?? "").trim().split("\n").slice(-5).join(" ")}` };
}

function growthReport(out: (line?: string) => void, judge: (name: string, figure: string, pass: boolean | undefined) => void): void {
    const child = benchChild<{ cases: GrowthCase[]; written: { size: FleetSize; problems: number; first: string[] }[] }>(
        "bench/growth.ts",
        TARGET,
        "GROWTH_RESULT",
        10,
    );
    if (!child.result) {
        judge("adding a cluster changes only its grants' roles and repositories", child.error, false);
        return;
    }
    const { cases, written } = child.result;
    out();
    out(`Adding a cluster to ${fleetLabel(TARGET)} (exact scope), every registered input of the ECR program diffed before and after:`);
    out();
    out("| the new cluster joins | registry resources created | changed | deleted | outside its grants |");
    out("|:--|--:|--:|--:|--:|");
    for (const c of cases) {
        out(`| ${c.label} | ${c.created.length} | ${c.changed.length} | ${c.deleted.length} | ${c.beyond.length} |`);
    }
    const beyond = cases.flatMap((c) => c.beyond);
    judge(
        "adding a cluster (exact scope) changes only the roles and repositories of its grants, and a federated grant's provider",
        `${beyond.length} resources outside them in ${cases.length} cases${beyond.length > 0 ? ` (${beyond.slice(0, 5).join(", ")})` : ""}`,
        beyond.length === 0,
    );
    out();
    out("Fleets as a user first writes them (the platform grant in one role, every node role named), and what the preview says:");
    for (const w of written) {
        out(`  ${fleetLabel(w.size)}: ${w.problems} problem${w.problems === 1 ? "" : "s"}; first: ${w.first[0] ?? "none"}`);
    }
}

// ---- Organization scope (bench/org-scope.ts, in a child) -------------------------

const ORG_TARGET: FleetSize = { clusters: 1000, tenants: 100, repositories: 1000 };
const ORG_TARGET_SECONDS = 30;
const ORG_TARGET_MEMORY_MIB = 1536;

function orgScopeReport(out: (line?: string) => void, judge: (name: string, figure: string, pass: boolean | undefined) => void): void {
    const label = fleetLabel(ORG_TARGET);
    const child = benchChild<OrgResult>("bench/org-scope.ts", ORG_TARGET, "ORG_RESULT", 10);
    if (!child.result) {
        judge(`${label} on organization scope`, child.error, false);
        return;
    }
    const r = child.result;
    out();
    out(
        `Organization scope, ${label} (every tenant's grant spans every cluster; tenants on chaining and Pod Identity in turn, plus the platform grant): the ECR program ran in ${seconds(r.ecrMs)} s, peak ${mib(r.maxRssKiB)} MiB, reading ${r.stackReferences} cluster stacks; ${r.pullRoles} pull roles, ${r.oidcProviders} OIDC providers, ${r.repositories} repositories, ${r.overQuota} of ${r.documents} documents over quota. The EKS program of a cluster running every tenant: ${seconds(r.eksMs)} s, ${r.eksResources} resources.`,
    );
    out();
    out("| a cluster joins (organization scope) | registry resources created | changed | deleted | resources of its own EKS stack |");
    out("|:--|--:|--:|--:|--:|");
    for (const g of r.growth) {
        out(`| ${g.label} | ${g.created} | ${g.changed} | ${g.deleted} | ${g.eksResources} |`);
    }
    judge(`${label} on organization scope <= ${ORG_TARGET_SECONDS} s`, `${seconds(r.ecrMs)} s`, r.ecrMs <= ORG_TARGET_SECONDS * 1000);
    judge(`${label} on organization scope peak memory < 1.5 GiB`, `${mib(r.maxRssKiB)} MiB`, mib(r.maxRssKiB) < ORG_TARGET_MEMORY_MIB);
    judge(
        `${label} on organization scope: one pull role per grant, no OIDC provider, 0 documents over quota`,
        `${r.pullRoles} roles for ${ORG_TARGET.tenants} tenants and the platform, ${r.oidcProviders} providers, ${r.overQuota} over`,
        r.pullRoles === ORG_TARGET.tenants + 1 && r.oidcProviders === 0 && r.overQuota === 0,
    );
    const touched = r.growth.reduce((n, g) => n + g.created + g.changed + g.deleted, 0);
    judge("adding a cluster on organization scope changes no registry resource", `${touched} changed in ${r.growth.length} cases`, touched === 0);
}

// ---- The whole process (bench/process.ts, in a child) ------------------------------

function processReport(out: (line?: string) => void, judge: (name: string, figure: string, pass: boolean | undefined) => void): void {
    const name = `ECR program as a whole process <= ${PROCESS_TARGET}x a process that loads only the Pulumi SDKs and makes the same registrations`;
    if (QUICK) {
        judge(name, "not run (--quick)", undefined);
        return;
    }
    progress(`ECR program as a whole process against SDK-only ones, ${fleetLabel(TARGET)}, ${PROCESS_RUNS} runs each in rotating order ...`);
    const args: ProcessArgs = { size: TARGET, runs: PROCESS_RUNS };
    // Its own children are compiled JavaScript (see its header); it runs under ts-node like growth.ts.
    const child = benchChild<ProcessResult>("bench/process.ts", args, "PROCESS_RESULT", 20);
    if (!child.result) {
        judge(name, child.error, false);
        return;
    }
    const measured = child.result;
    out();
    for (const text of child.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("PROCESS_RESULT ") && !l.startsWith("target "))) {
        out(text);
    }
    if (!measured.ok || measured.ratio === undefined) {
        judge(name, `not measured: ${measured.error}`, false);
        return;
    }
    judge(
        name,
        `${measured.ratio.toFixed(2)}x (${seconds(measured.program!.medianMs)} s against ${seconds(measured.baseline!.medianMs)} s, ${fleetLabel(TARGET)}, median of ${measured.runs} each; ${measured.flatRatio!.toFixed(2)}x a flat replay without the components)`,
        measured.ratio <= PROCESS_TARGET,
    );
}

// ---- Child processes --------------------------------------------------------

let tempCounter = 0;
let childCount = 0;

function child(args: OneArgs, nodeFlags: readonly string[] = []): OneResult {
    childCount++;
    const result = spawnSync(process.execPath, [...nodeFlags, "-r", "ts-node/register/transpile-only", "bench/one.ts", JSON.stringify(args)], {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        timeout: 30 * 60 * 1000,
    });
    const line = (result.stdout ?? "").split("\n").find((l) => l.startsWith("BENCH_RESULT "));
    if (!line) {
        const why = result.error ? String(result.error) : `exit ${result.status ?? ""}${result.signal ? ` signal ${result.signal}` : ""}`;
        return failed(args.kind, `bench/one.ts printed no result (${why}): ${(result.stderr ?? "").trim().split("\n").slice(-15).join("\n")}`);
    }
    return JSON.parse(line.slice("BENCH_RESULT ".length)) as OneResult;
}

function failed(kind: string, error: string): OneResult {
    return {
        ok: false,
        kind,
        error,
        ms: 0,
        maxRssKiB: 0,
        setupMs: 0,
        windowUs: [0, 0],
        registered: 0,
        custom: 0,
        components: 0,
        stackReferences: 0,
        byType: {},
        awsResources: 0,
        kubernetesObjects: 0,
        largest: {},
        documents: 0,
        overQuota: [],
        oidcProviders: 0,
        roles: 0,
    };
}

interface Measured {
    readonly run: OneResult;
    readonly baseline?: OneResult;
}

/** Runs shorter than this are repeated (REPEATS in all) and their median taken: one short run is too noisy to compare. */
const REPEAT_BELOW_MS = 3000;
const REPEATS = 3;

/** The run with the median time; peak memory is the highest of the runs. */
function medianOf(results: readonly OneResult[]): OneResult {
    const sorted = [...results].sort((a, b) => a.ms - b.ms);
    const middle = sorted[Math.floor((sorted.length - 1) / 2)];
    return { ...middle, maxRssKiB: Math.max(...results.map((r) => r.maxRssKiB)), samples: results.map((r) => r.ms) };
}

/** A program run and, when it succeeded, its baseline on the resources it recorded; short ones repeated. */
function measure(program: "ecr" | "eks", fleet: FleetOptions, cluster?: number | "every-tenant"): Measured {
    const file = path.join(os.tmpdir(), `ecrpull-bench-${process.pid}-${++tempCounter}.json`);
    try {
        const first = child({ kind: program, fleet, cluster, save: file });
        if (!first.ok) {
            return { run: first };
        }
        const repeats = first.ms < REPEAT_BELOW_MS ? REPEATS : 1;
        const runs = [first];
        const baselines: OneResult[] = [];
        for (let i = 0; i < repeats; i++) {
            if (i > 0) {
                runs.push(child({ kind: program, fleet, cluster }));
            }
            baselines.push(child({ kind: "baseline", program, fleet, cluster, load: file, shape: "flat-classes" }));
        }
        const failedRun = runs.find((r) => !r.ok);
        const failedBaseline = baselines.find((r) => !r.ok);
        return { run: failedRun ?? medianOf(runs), baseline: failedBaseline ?? medianOf(baselines) };
    } finally {
        fs.rmSync(file, { force: true });
    }
}

// ---- Formatting ---------------------------------------------------------------

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mib = (kib: number) => Math.round(kib / 1024);
const ratio = (run: OneResult, baseline?: OneResult) => (baseline?.ok && baseline.ms > 0 ? run.ms / baseline.ms : NaN);
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "n/a");
const against = (count: number, limit: number) => `${int(count)} / ${int(limit)}`;
const doc = (r: OneResult, kind: string) => {
    const d = r.largest[kind];
    return d ? `${int(d.size)} / ${int(d.limit)}` : "-";
};

function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length), 3));
    const cell = (text: string, i: number) => (rightAligned[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
    const line = (cells: readonly string[]) => `| ${cells.map((c, i) => cell(c, i)).join(" | ")} |`;
    const rule = `|${widths.map((w, i) => (rightAligned[i] ? `${"-".repeat(w + 1)}:` : `:${"-".repeat(w + 1)}`)).join("|")}|`;
    return [line(headers), rule, ...rows.map(line)].join("\n");
}

const progress = (text: string) => process.stderr.write(`  ${text}\n`);

// ---- The fleets -----------------------------------------------------------------

interface FleetRun {
    readonly size: FleetSize;
    readonly label: string;
    readonly target: boolean;
    readonly plan: FleetPlan;
    readonly ecr: Measured;
    readonly eks: Measured;
    readonly eksCluster: string;
    readonly account: ReturnType<typeof clusterAccountLoad>;
}

function sizes(): FleetSize[] {
    const grid = CLUSTER_COUNTS.flatMap((clusters) => TENANT_COUNTS.map((tenants) => ({ clusters, tenants, repositories: tenants * REPOSITORIES_PER_TENANT })));
    return QUICK ? grid : [...grid, TARGET];
}

function main(): void {
    const cpus = os.cpus();
    const started = Date.now();
    const lines: string[] = [];
    const out = (text = "") => lines.push(text);
    process.stderr.write(`Benchmark${QUICK ? " (--quick: 10-cluster fleets only)" : ""}: each line is a child process.\n`);

    const runs: FleetRun[] = [];
    for (const size of sizes()) {
        const label = fleetLabel(size);
        const target = fleetLabel(TARGET) === label;
        const plan = planFleet(size);
        const fleet = generateFleet(plan.options);
        const cluster = largestCluster(fleet);
        progress(`${label}: ECR program against ${size.clusters} stacks ...`);
        const ecr = measure("ecr", plan.options);
        progress(
            `${label}: ECR ${ecr.run.ok ? `${seconds(ecr.run.ms)} s, baseline ${ecr.baseline?.ok ? `${seconds(ecr.baseline.ms)} s` : "failed"}` : "REFUSED"}; EKS program for ${cluster.clusterName} ...`,
        );
        const eks = measure("eks", plan.options, cluster.index);
        progress(`${label}: EKS ${eks.run.ok ? `${seconds(eks.run.ms)} s` : "FAILED"}`);
        runs.push({ size, label, target, plan, ecr, eks, eksCluster: cluster.clusterName, account: clusterAccountLoad(fleet) });
    }

    // The largest workload list an EKS stack of these fleets can get: one cluster running every tenant.
    const widest = [...runs].sort((a, b) => b.size.tenants - a.size.tenants || a.size.clusters - b.size.clusters)[0];
    progress(`EKS program for one cluster running all ${widest.size.tenants} tenants of ${widest.label} ...`);
    const everyTenant = measure("eks", widest.plan.options, "every-tenant");

    // ---- Report ----
    out(
        `Machine: ${cpus.length} CPUs, ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.arch()}`,
    );
    if (cpus.length !== 2) {
        out(`(The targets are set for a 2-core machine; this one has ${cpus.length}.)`);
    }
    out(`Each figure is one run of the program in a fresh child process on the Pulumi SDK's mock engine (no network). Time is the program run alone;`);
    out(
        `start-up (node, ts-node, SDK modules) and fleet generation are not timed: ${seconds(median(runs.map((r) => r.ecr.run.setupMs)))} s per child (median).`,
    );
    out();
    out(`ECR program (registry account), all EKS stacks of the fleet referenced:`);
    out();
    const ecrHeaders = [
        "fleet (clusters x tenants x repos)",
        "platform shards",
        "node pulls",
        "registry resources",
        "registered",
        "largest trust",
        "largest repo policy",
        "OIDC providers",
        "roles",
        "time (s)",
        "peak RSS (MiB)",
        "baseline (s)",
        "overhead",
        "ms / resource",
    ];
    const ecrRows = runs.map((r) => {
        const { run, baseline } = r.ecr;
        const name = `${r.label}${r.target ? " (target)" : ""}`;
        const shards = String(r.plan.options.platformShards);
        const scope = r.plan.options.nodePullScope;
        if (!run.ok) {
            return [name, shards, scope, "REFUSED", "-", "-", "-", "-", "-", seconds(run.ms), String(mib(run.maxRssKiB)), "-", "-", "-"];
        }
        return [
            name,
            shards,
            scope,
            int(run.awsResources),
            int(run.registered),
            doc(run, "trust policy"),
            doc(run, "repository policy"),
            against(run.oidcProviders, REGISTRY_QUOTAS.oidcProviders),
            against(run.roles, REGISTRY_QUOTAS.roles),
            seconds(run.ms),
            String(mib(run.maxRssKiB)),
            baseline?.ok ? seconds(baseline.ms) : "failed",
            times(ratio(run, baseline)),
            (run.ms / run.registered).toFixed(2),
        ];
    });
    out(markdownTable(ecrHeaders, ecrRows, [false, true, false, true, true, true, true, true, true, true, true, true, true, true]));
    out();
    out(`EKS program (cluster account), the fleet's cluster with the most workloads (adopted cluster, thumbprint omitted):`);
    out();
    const eksHeaders = [
        "fleet",
        "cluster",
        "workloads",
        "AWS resources",
        "k8s objects",
        "registered",
        "largest trust",
        "roles in account",
        "OIDC providers in account",
        "time (s)",
        "peak RSS (MiB)",
        "baseline (s)",
        "overhead",
        "outputs = generated",
    ];
    const eksRow = (label: string, clusterName: string, m: Measured, rolesInAccount: string, providersInAccount: string, matches: string) => {
        const { run, baseline } = m;
        if (!run.ok) {
            return [
                label,
                clusterName,
                int(run.workloads ?? 0),
                "FAILED",
                "-",
                "-",
                "-",
                rolesInAccount,
                providersInAccount,
                seconds(run.ms),
                String(mib(run.maxRssKiB)),
                "-",
                "-",
                "-",
            ];
        }
        return [
            label,
            clusterName,
            int(run.workloads ?? 0),
            int(run.awsResources),
            int(run.kubernetesObjects),
            int(run.registered),
            doc(run, "trust policy"),
            rolesInAccount,
            providersInAccount,
            seconds(run.ms),
            String(mib(run.maxRssKiB)),
            baseline?.ok ? seconds(baseline.ms) : "failed",
            times(ratio(run, baseline)),
            matches,
        ];
    };
    const eksRows = runs.map((r) =>
        eksRow(
            `${r.label}${r.target ? " (target)" : ""}`,
            r.eksCluster,
            r.eks,
            against(r.account.roles, 1000),
            against(r.account.oidcProviders, 100),
            r.eks.run.ok ? (r.eks.run.outputMismatches?.length === 0 ? "yes" : "NO") : "-",
        ),
    );
    eksRows.push(
        eksRow(
            `${widest.label}, every tenant on one cluster`,
            "eks-000",
            everyTenant,
            everyTenant.run.ok ? `>= ${against(everyTenant.run.roles, 1000)}` : "-",
            `>= ${against(1, 100)}`,
            "n/a (synthetic)",
        ),
    );
    out(markdownTable(eksHeaders, eksRows, [false, false, true, true, true, true, true, true, true, true, true, true, true, false]));
    out();
    out("Columns: registered = every resource the program registered (components and stack references included); registry resources = AWS");
    out("resources in the registry account; largest trust / repo policy = characters (white space excluded) against the AWS limit; roles and");
    out("OIDC providers against the account quota (a cluster account holds 5 clusters: their roles, and one IAM OIDC provider each, which");
    out("chaining trusts); baseline = the same custom resources registered directly, each by its SDK class (aws.iam.Role, ...), flat: no");
    out("components, no parents, no planning; overhead = time / baseline; outputs = generated: the EKS program exported exactly the outputs");
    out("the fleet generator fed the ECR program.");
    out(
        `Runs under ${seconds(REPEAT_BELOW_MS)} s (program and baseline) are run ${REPEATS} times, each in a fresh process: their median time and highest peak RSS.`,
    );

    // Planning notes and anything refused: printed in full, never hidden.
    const notes = runs.filter((r) => r.plan.notes.length > 0 || r.plan.overBudget.length > 0);
    if (notes.length > 0) {
        out();
        out("Fleet layout choices (bench/fleet.ts, from the package's planRegistry):");
        for (const r of notes) {
            for (const note of r.plan.notes) {
                out(`  ${r.label}: ${note}`);
            }
            for (const message of r.plan.overBudget) {
                out(`  ${r.label}: the planner still finds this over quota: ${message}`);
            }
        }
    }
    const problems: string[] = [];
    for (const r of runs) {
        for (const [what, m] of [
            ["ECR program", r.ecr],
            [`EKS program (${r.eksCluster})`, r.eks],
        ] as const) {
            if (!m.run.ok) {
                problems.push(`${r.label} ${what} refused the fleet:\n${m.run.error}`);
            } else if (m.baseline && !m.baseline.ok) {
                problems.push(`${r.label} ${what} baseline failed:\n${m.baseline.error}`);
            }
            if (m.run.outputMismatches && m.run.outputMismatches.length > 0) {
                problems.push(`${r.label} ${what}: the program's outputs differ from the generated ones:\n  ${m.run.outputMismatches.join("\n  ")}`);
            }
        }
    }
    if (!everyTenant.run.ok) {
        problems.push(`EKS program, every tenant on one cluster, failed:\n${everyTenant.run.error}`);
    }
    if (problems.length > 0) {
        out();
        out("Refused or failed runs (messages as the programs wrote them):");
        for (const p of problems) {
            out(p);
        }
    }

    // ---- Verdicts ----
    out();
    const verdict = (name: string, figure: string, pass: boolean | undefined) =>
        out(`target ${name}: ${figure} ${pass === undefined ? "SKIP" : pass ? "PASS" : "FAIL"}`);
    const targetRun = runs.find((r) => r.target);
    const failedTargets: string[] = [];
    const judge = (name: string, figure: string, pass: boolean | undefined) => {
        verdict(name, figure, pass);
        if (pass === false) {
            failedTargets.push(name);
        }
    };
    const targetLabel = fleetLabel(TARGET);
    if (!targetRun) {
        judge(`${targetLabel} <= ${TARGET_SECONDS} s`, "not run (--quick)", undefined);
        judge(`${targetLabel} peak memory < 1 GiB`, "not run (--quick)", undefined);
    } else if (!targetRun.ecr.run.ok) {
        judge(`${targetLabel} <= ${TARGET_SECONDS} s`, `refused after ${seconds(targetRun.ecr.run.ms)} s (see above)`, false);
        judge(`${targetLabel} peak memory < 1 GiB`, `${mib(targetRun.ecr.run.maxRssKiB)} MiB, but the program refused the fleet`, false);
    } else {
        const { run } = targetRun.ecr;
        judge(`${targetLabel} <= ${TARGET_SECONDS} s`, `${seconds(run.ms)} s`, run.ms <= TARGET_SECONDS * 1000);
        judge(`${targetLabel} peak memory < 1 GiB`, `${mib(run.maxRssKiB)} MiB`, mib(run.maxRssKiB) < TARGET_MEMORY_MIB);
    }

    // Linear growth: least-squares fit of log(time) on log(resources) over the ECR runs, all of them and the
    // larger half (where a superlinear term would show), as the time factor per doubling of resources. Single
    // runs vary by about 10%, so pairs of runs are printed for the record but do not decide.
    const ecrOk = runs.filter((r) => r.ecr.run.ok).sort((a, b) => a.ecr.run.registered - b.ecr.run.registered);
    const growthName = `time grows no worse than linearly (doubling resources <= ${TARGET_DOUBLING}x time)`;
    if (ecrOk.length < 3) {
        judge(growthName, `only ${ecrOk.length} ECR runs`, undefined);
    } else {
        const perDoubling = (rs: readonly FleetRun[]) => 2 ** logLogSlope(rs.map((r) => [r.ecr.run.registered, r.ecr.run.ms]));
        const larger = ecrOk.slice(Math.floor(ecrOk.length / 2));
        const [all, top] = [perDoubling(ecrOk), perDoubling(larger)];
        judge(
            growthName,
            `${Math.max(all, top).toFixed(2)}x per doubling (fit over all ${ecrOk.length} ECR runs ${all.toFixed(2)}x, over the ${larger.length} largest ${top.toFixed(2)}x)`,
            Math.max(all, top) <= TARGET_DOUBLING,
        );
        const pairs: { from: FleetRun; to: FleetRun; factor: number; n: number; t: number }[] = [];
        for (const a of ecrOk) {
            for (const b of ecrOk) {
                const n = b.ecr.run.registered / a.ecr.run.registered;
                if (b.size.clusters >= a.size.clusters && b.size.tenants >= a.size.tenants && n >= 1.7 && n <= 2.5) {
                    const t = b.ecr.run.ms / a.ecr.run.ms;
                    pairs.push({ from: a, to: b, n, t, factor: t ** (1 / Math.log2(n)) });
                }
            }
        }
        const perResource = ecrOk.map((r) => r.ecr.run.ms / r.ecr.run.registered);
        out(
            `  ms per registered resource: ${Math.min(...perResource).toFixed(2)} to ${Math.max(...perResource).toFixed(2)}, smallest fleet ${perResource[0].toFixed(2)}, largest ${perResource[perResource.length - 1].toFixed(2)}`,
        );
        if (pairs.length > 0) {
            out(
                `  fleets grown to 1.7x-2.5x the resources: ${pairs.map((p) => `${p.from.label} -> ${p.to.label} ${p.n.toFixed(2)}x resources, ${p.t.toFixed(2)}x time (${p.factor.toFixed(2)}x per doubling)`).join("; ")}`,
            );
        }
    }

    // Component overhead: the target fleet's ECR run, and every other run for the record.
    const overheads = [
        ...runs.flatMap((r) => [
            { name: `ECR ${r.label}`, x: ratio(r.ecr.run, r.ecr.baseline), target: r.target },
            { name: `EKS ${r.label} (${r.eksCluster})`, x: ratio(r.eks.run, r.eks.baseline), target: false },
        ]),
        { name: `EKS ${widest.label} every tenant`, x: ratio(everyTenant.run, everyTenant.baseline), target: false },
    ].filter((o) => Number.isFinite(o.x));
    const headline = overheads.find((o) => o.target) ?? [...overheads].filter((o) => o.name.startsWith("ECR")).pop();
    if (!headline) {
        judge(`component overhead <= ${TARGET_OVERHEAD}x`, "no run with a baseline", false);
    } else {
        judge(`component overhead <= ${TARGET_OVERHEAD}x`, `${headline.x.toFixed(2)}x (${headline.name})`, headline.x <= TARGET_OVERHEAD);
        const over = overheads.filter((o) => o.x > TARGET_OVERHEAD).sort((a, b) => b.x - a.x);
        out(
            `  all runs: ${overheads.length - over.length} of ${overheads.length} at or under ${TARGET_OVERHEAD}x${over.length > 0 ? `; over: ${over.map((o) => `${o.name} ${o.x.toFixed(2)}x`).join(", ")}` : ""}`,
        );
    }

    // Quotas: every document every run registered, and the counts per account.
    const measuredRuns = [...runs.flatMap((r) => [r.ecr.run, r.eks.run]), everyTenant.run];
    const documents = measuredRuns.reduce((n, r) => n + r.documents, 0);
    const overDocs = measuredRuns.flatMap((r) => r.overQuota);
    const overCounts = [
        ...runs
            .filter((r) => r.ecr.run.ok && r.ecr.run.oidcProviders > REGISTRY_QUOTAS.oidcProviders)
            .map((r) => `${r.label}: ${r.ecr.run.oidcProviders} registry OIDC providers`),
        ...runs.filter((r) => r.ecr.run.ok && r.ecr.run.roles > REGISTRY_QUOTAS.roles).map((r) => `${r.label}: ${r.ecr.run.roles} registry roles`),
        ...runs.filter((r) => r.account.roles > 1000).map((r) => `${r.label}: ${r.account.roles} roles in cluster account ${r.account.accountId}`),
    ];
    const refused = measuredRuns.filter((r) => !r.ok).length;
    judge(
        "zero documents over quota",
        `${overDocs.length + overCounts.length} over (${int(documents)} documents measured in ${measuredRuns.length - refused} runs; OIDC providers and roles counted per account)${refused > 0 ? `; ${refused} runs refused, so not measured` : ""}`,
        overDocs.length + overCounts.length === 0 && refused === 0,
    );
    for (const message of [...overDocs, ...overCounts]) {
        out(`  over: ${message}`);
    }

    // Growth: a cluster added to the target fleet, and fleets as a user first writes them (counts, not time).
    if (!QUICK) {
        growthReport(out, judge);
        orgScopeReport(out, judge);
    }

    // The ECR program as a whole process, start-up and module loading included, against an SDK-only process.
    processReport(out, judge);

    // Where the time goes, when a target failed.
    if ((failedTargets.length > 0 && !QUICK) || FORCE_PROFILE) {
        const subject = targetRun?.ecr.run.ok ? targetRun : [...ecrOk].pop();
        if (subject) {
            progress(`profiling ECR ${subject.label} and its baseline (node --cpu-prof) ...`);
            out();
            out(`Where the time goes (node --cpu-prof, ECR program ${subject.label}, samples inside the program run only):`);
            const program = profiled("ecr", subject.plan.options);
            const baseline = program.summary && program.file ? profiled("baseline", subject.plan.options, program.file) : undefined;
            // The same resources replayed in two more shapes, to split the overhead between its causes.
            const shapes = (["flat", "tree-classes"] as const).map((shape) => {
                if (!program.file || !fs.existsSync(program.file)) {
                    return undefined;
                }
                progress(`replaying ECR ${subject.label} as shape "${shape}" (${REPEATS} runs) ...`);
                const results = Array.from({ length: REPEATS }, () =>
                    child({ kind: "baseline", program: "ecr", fleet: subject.plan.options, load: program.file, shape }),
                );
                return results.find((r) => !r.ok) ?? medianOf(results);
            });
            if (program.file) {
                fs.rmSync(program.file, { force: true });
            }
            printProfile(out, "program", program);
            if (baseline) {
                printProfile(out, "baseline (the same resources by their SDK classes, flat)", baseline);
            }
            printDecomposition(out, subject, shapes[0], shapes[1]);
        }
    }

    if (failedTargets.length > 0 && QUICK && !FORCE_PROFILE) {
        out();
        out("(--quick does not profile: add --profile, or run the full benchmark, to see where the time goes.)");
    }
    out();
    out(`(${runs.length} fleets, ${childCount} child processes, ${seconds(Date.now() - started)} s in all)`);
    process.stdout.write(`${lines.join("\n")}\n`);
}

interface Profiled {
    readonly result: OneResult;
    readonly summary?: ProfileSummary;
    readonly error?: string;
    /** program runs: the recorded resources, for the baseline to replay. */
    readonly file?: string;
}

/** Runs one measurement under `node --cpu-prof` and summarizes the program run's samples. */
function profiled(kind: "ecr" | "baseline", fleet: FleetOptions, load?: string): Profiled {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-bench-prof-"));
    const save = kind === "ecr" ? path.join(os.tmpdir(), `ecrpull-bench-${process.pid}-${++tempCounter}.json`) : undefined;
    try {
        const args: OneArgs = kind === "ecr" ? { kind, fleet, save } : { kind, program: "ecr", fleet, load, shape: "flat-classes" };
        const result = child(args, ["--cpu-prof", "--cpu-prof-dir", dir]);
        const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
        if (!result.ok || !file) {
            return { result, error: result.error ?? "no .cpuprofile written", file: save };
        }
        return { result, summary: summarizeProfile(path.join(dir, file), result.windowUs), file: save };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function printProfile(out: (text?: string) => void, what: string, p: Profiled): void {
    out();
    if (!p.summary) {
        out(`  ${what}: no profile (${p.error})`);
        return;
    }
    const { summary, result } = p;
    out(
        `  ${what}: ${seconds(result.ms)} s under the profiler, ${seconds(summary.totalMs)} s sampled${summary.windowed ? "" : " (window not found: whole process)"}`,
    );
    const list = (title: string, items: ProfileSummary["selfByArea"]) => {
        out(`    ${title}:`);
        for (const item of items) {
            out(`      ${item.ms.toFixed(0).padStart(6)} ms  ${((item.ms / summary.totalMs) * 100).toFixed(1).padStart(5)}%  ${item.name}`);
        }
    };
    list("self time by area", summary.selfByArea);
    list("hottest functions (self time)", summary.selfByFunction);
    list("SDK and tool functions (inclusive time)", summary.inclusiveSuspects);
    if (summary.inclusiveOwn.length > 0) {
        list("the package's own functions (inclusive time)", summary.inclusiveOwn);
    }
}

/** The overhead split into steps from the flat baseline to the program, each a replay of the same resources. */
function printDecomposition(out: (text?: string) => void, subject: FleetRun, flat?: OneResult, treeClasses?: OneResult): void {
    const flatClasses = subject.ecr.baseline;
    const program = subject.ecr.run;
    out();
    out(
        `  The overhead of ECR ${subject.label} in steps (each a fresh process replaying the same resources; median of ${REPEATS}, the program's as in the table):`,
    );
    if (!flat?.ok || !flatClasses?.ok || !treeClasses?.ok) {
        out(`    not measured: ${[flat, flatClasses, treeClasses].find((r) => r && !r.ok)?.error ?? "a replay is missing"}`);
        return;
    }
    const step = (label: string, r: OneResult, previous?: OneResult) =>
        out(
            `    ${seconds(r.ms).padStart(6)} s  ${previous ? `x${(r.ms / previous.ms).toFixed(2)}` : "     "}  (x${(r.ms / flatClasses.ms).toFixed(2)} of the baseline)  ${label}`,
        );
    step(`the ${int(flat.registered)} custom resources as raw pulumi.CustomResources, flat, with the recorded inputs`, flat);
    step("baseline: the same, each made by its SDK class (aws.ecr.Repository, ...), which declares every output property", flatClasses, flat);
    step(`+ the ${int(treeClasses.components)} components (empty ComponentResources) and every parent`, treeClasses, flatClasses);
    step("= the program: its own work on top (stack reference reads, validation, planning, outputs)", program, treeClasses);
    out(`    the components and the program's own work over the same SDK classes registered flat: x${(program.ms / flatClasses.ms).toFixed(2)}`);
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Least-squares slope of log(time) over log(resources). */
function logLogSlope(points: readonly (readonly [number, number])[]): number {
    const xs = points.map(([n]) => Math.log(n));
    const ys = points.map(([, t]) => Math.log(t));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const num = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
    const den = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    return den === 0 ? NaN : num / den;
}

main();
