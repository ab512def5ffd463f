/**
 * `ecrpull plan`: what `pulumi up` would do in each account, from a
 * project's stack files, with no CLI, no credentials and no network.
 *
 * It runs the EKS program of every stack the ECR stack file lists, then the
 * ECR program with their outputs behind its stack references (the order and
 * wiring of `pulumi up`, on the mock engine), with organization-scoped grants
 * the other EKS stack files beside it (clusters that join by scope, which the
 * registry does not read), and says per account what
 * would be created, who could pull what (evaluated from the documents the
 * runs registered, not from the config) and which documents are near their
 * limits. `--documents` adds every document and each chained workload's pod
 * settings; `--json` gives it all as JSON.
 */
import * as yaml from "js-yaml";
import * as fs from "fs";
import * as path from "path";
import { WorkloadPodSettings } from "../../components/cluster/pod-settings";
import { DEFAULT_LIMITS, QuotaLimits } from "../../components/iam/quotas";
import { policySize } from "../../components/iam/policies";
import { partitionOfRegion } from "../../components/iam/names";
import { organizationAdmissions } from "../../components/registry/plan";
import { GrantSpec } from "../../components/registry/spec";
import { EksProgramOutputs } from "../../stacks/eks";
import { ProgramRun, RecordedResource, Resolved } from "../engine/mock-engine";
import { EksStackRunResult, runProject } from "../engine/project-run";
import { AccessReport, accessReport, readFleetState, renderMarkdown, renderMermaid } from "../report/report";
import { toStackExport } from "../state/from-run";
import { adoptedResources, importFileFor } from "../state/import-file";
import { readProject } from "../state/project-config";
import { parseStackExport, StackExport } from "../state/stack-export";
import { readStackFile, StackFileError } from "../state/stack-file";
import { Command, Io, many, single, UsageError, Values } from "./command";

/** Documents at or above this share of their limit are listed by default. */
const NEAR_LIMIT = 0.8;

export interface PlanOptions {
    /** The project directory: its Pulumi.yaml and stack files. */
    readonly dir: string;
    /** The ECR stack, by name (`Pulumi.<stack>.yaml`). Default: the one stack file whose program is `ecr`. */
    readonly stack?: string;
    /** The account of each EKS stack, by name. */
    readonly accounts: Readonly<Record<string, string>>;
    readonly documents: boolean;
    readonly json: boolean;
    /** Where to write the `pulumi import --file` file of the resources `ecrpull:adopt` names. */
    readonly importFile?: string;
}

/** One document measured against its limit. */
export interface DocumentSize {
    readonly account: string;
    readonly kind: "trust policy" | "role policy" | "repository policy" | "lifecycle policy";
    readonly owner: string;
    readonly size: number;
    readonly limit: number;
}

/** The stack file of the ECR stack: the one named, else the one whose program is ecr. */
export function findEcrStackFile(dir: string, stack: string | undefined): string {
    if (stack !== undefined) {
        const file = path.join(dir, `Pulumi.${stack.split("/").pop()}.yaml`);
        if (!fs.existsSync(file)) {
            throw new StackFileError(`--stack ${stack}: there is no ${path.basename(file)} in ${dir}.`);
        }
        return file;
    }
    const files = fs
        .readdirSync(dir)
        .filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f))
        .sort();
    const ecr = files.filter((f) => {
        const program = readStackFile(path.join(dir, f)).config["ecrpull:program"];
        return program === "ecr" || (program === undefined && /^Pulumi\.ecr\.ya?ml$/.test(f));
    });
    if (ecr.length !== 1) {
        throw new StackFileError(
            ecr.length === 0
                ? `${dir}: no stack file runs the ECR program (ecrpull:program: ecr) among ${files.join(", ") || "no Pulumi.<stack>.yaml files"}; run in the project directory, or give --dir.`
                : `${dir}: several stack files run the ECR program (${ecr.join(", ")}); choose one with --stack.`,
        );
    }
    return path.join(dir, ecr[0]);
}

/** An adopted resource as the plan names it: `repository payments/api`. */
function adoptedLabel(resource: RecordedResource): string {
    const kind = {
        "aws:ecr/repository:Repository": "repository",
        "aws:iam/role:Role": "role",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "OIDC provider",
    }[resource.type];
    return `${kind ?? resource.type} ${resource.type.includes("openIdConnect") ? resource.inputs.url : resource.inputs.name}`;
}

/** Resources counted by what they are, largest first: "3 IAM roles, 2 ServiceAccounts". */
function resourceSummary(resources: readonly RecordedResource[]): string {
    const counts = new Map<string, number>();
    // Custom resources and remote components (an eks:index:Cluster), not this package's own components.
    for (const r of resources.filter((x) => !x.type.startsWith("ecrpull:") && !x.type.startsWith("pulumi:"))) {
        const short = r.type.split(":").pop()!;
        counts.set(short, (counts.get(short) ?? 0) + 1);
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const parts = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([type, n]) => `${n} ${type}`);
    return `${total} resources: ${parts.join(", ")}`;
}

/** The inline policies the components give a role: `<role>-assume` (cluster side), `<name>-pull` beside `<name>-role` (PullRole). */
function inlinePoliciesOf(resources: readonly RecordedResource[], role: RecordedResource): RecordedResource[] {
    return resources.filter(
        (p) =>
            p.type === "aws:iam/rolePolicy:RolePolicy" &&
            p.parent === role.parent &&
            (p.name === `${role.name}-assume` || p.name === role.name.replace(/-role$/, "-pull")),
    );
}

/** Every policy document the run registered, with its size and its limit. */
function documentSizes(account: string, resources: readonly RecordedResource[], limits: QuotaLimits): DocumentSize[] {
    const sizes: DocumentSize[] = [];
    const roleName = (r: RecordedResource) => String(r.inputs.name ?? r.name);
    for (const role of resources.filter((r) => r.type === "aws:iam/role:Role")) {
        sizes.push({ account, kind: "trust policy", owner: roleName(role), size: policySize(role.inputs.assumeRolePolicy), limit: limits.trustPolicy });
        // A role's inline policies count together (docs/aws-facts.md, "Limits").
        const inline = inlinePoliciesOf(resources, role);
        if (inline.length > 0) {
            sizes.push({
                account,
                kind: "role policy",
                owner: roleName(role),
                size: inline.reduce((n, p) => n + policySize(p.inputs.policy), 0),
                limit: limits.rolePolicy,
            });
        }
    }
    for (const repository of resources.filter((r) => r.type === "aws:ecr/repository:Repository")) {
        const policy = resources.find((p) => p.type === "aws:ecr/repositoryPolicy:RepositoryPolicy" && p.parent === repository.parent);
        const lifecycle = resources.find((p) => p.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy" && p.parent === repository.parent);
        if (policy) {
            sizes.push({
                account,
                kind: "repository policy",
                owner: repository.inputs.name,
                size: policySize(policy.inputs.policy),
                limit: limits.repositoryPolicy,
            });
        }
        if (lifecycle) {
            sizes.push({
                account,
                kind: "lifecycle policy",
                owner: repository.inputs.name,
                size: policySize(lifecycle.inputs.policy),
                limit: limits.lifecyclePolicy,
            });
        }
    }
    return sizes;
}

const percent = (s: DocumentSize) => Math.round((s.size / s.limit) * 100);
const sizeLine = (s: DocumentSize) =>
    `  ${`${s.kind} of ${s.owner}`.padEnd(60)} ${String(s.size).padStart(6)} / ${String(s.limit).padEnd(6)} (${percent(s)}%)${s.size > s.limit ? "  OVER THE LIMIT" : ""}`;

/** What each workload of a cluster stack needs, one line each. */
function workloadLines(podSpecs: Readonly<Record<string, WorkloadPodSettings>>, resources: readonly RecordedResource[]): string[] {
    const entries = Object.entries(podSpecs).sort(([a], [b]) => (a < b ? -1 : 1));
    const width = Math.max(0, ...entries.map(([key]) => key.length));
    return entries.map(([key, w]) => {
        const how =
            w.path === "federation"
                ? `ServiceAccount annotated with ${resources.find((r) => /ServiceAccount(Patch)?$/.test(r.type) && `${r.inputs.metadata.namespace}/${r.inputs.metadata.name}` === key)?.inputs.metadata.annotations?.["eks.amazonaws.com/role-arn"]}`
                : w.path === "podIdentity"
                  ? "Pod Identity association; EKS injects the credentials"
                  : "its pods need the chained pod settings (--documents, the podSpecs output, or withPullAccess)";
        return `    ${key.padEnd(width)}  grant ${w.grant}, ${w.path}: ${how}`;
    });
}

/** The full documents of an account: roles with their trust and policy, repositories with theirs. */
function documentLines(resources: readonly RecordedResource[], podSpecs?: Readonly<Record<string, WorkloadPodSettings>>): string[] {
    const json = (text: string) =>
        JSON.stringify(JSON.parse(text), null, 2)
            .split("\n")
            .map((l) => `      ${l}`);
    const lines: string[] = [];
    for (const [key, w] of Object.entries(podSpecs ?? {}).filter(([, w]) => w.path === "chaining")) {
        const fragment = {
            serviceAccountName: w.serviceAccountName,
            volumes: w.volumes,
            containers: [{ name: "<each container that calls AWS>", volumeMounts: w.volumeMounts, env: w.env }],
        };
        lines.push(
            `  pod settings of ${key} (add them to its pod spec):`,
            ...yaml
                .dump(fragment, { lineWidth: 160 })
                .trimEnd()
                .split("\n")
                .map((l) => (l ? `      ${l}` : "")),
        );
    }
    for (const config of resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && typeof r.inputs.data?.config === "string")) {
        const { metadata } = config.inputs;
        lines.push(
            `  AWS config of grant ${metadata.labels?.["ecrpull.dev/grant"]} (ConfigMap ${metadata.namespace}/${metadata.name}, key config):`,
            ...String(config.inputs.data.config)
                .trimEnd()
                .split("\n")
                .map((l) => (l ? `      ${l}` : "")),
        );
    }
    for (const role of resources.filter((r) => r.type === "aws:iam/role:Role")) {
        lines.push(`  role ${role.inputs.name ?? role.name}`, "    trust policy:", ...json(role.inputs.assumeRolePolicy));
        for (const p of inlinePoliciesOf(resources, role)) {
            lines.push(`    policy ${p.inputs.name}:`, ...json(p.inputs.policy));
        }
    }
    for (const repository of resources.filter((r) => r.type === "aws:ecr/repository:Repository")) {
        const policy = resources.find((p) => p.type === "aws:ecr/repositoryPolicy:RepositoryPolicy" && p.parent === repository.parent);
        const exclusions = (repository.inputs.imageTagMutabilityExclusionFilters ?? []) as { filter: string }[];
        const settings = [
            exclusions.length > 0
                ? `${repository.inputs.imageTagMutability} [${exclusions.map((e) => e.filter).join(", ")}]`
                : repository.inputs.imageTagMutability,
            repository.inputs.imageScanningConfiguration?.scanOnPush ? "scan on push" : "no scan on push",
            repository.inputs.encryptionConfigurations?.[0]?.encryptionType,
            repository.retainOnDelete ? "retained on delete" : "deleted with the stack",
        ].join(", ");
        lines.push(`  repository ${repository.inputs.name} (${settings})`);
        lines.push(
            ...(policy
                ? ["    repository policy:", ...json(policy.inputs.policy)]
                : ["    no repository policy: no grant names it, so only this account may pull"]),
        );
    }
    return lines;
}

const asState = (run: ProgramRun<unknown>, stack: string): StackExport =>
    parseStackExport(JSON.stringify(toStackExport(run, { stack })), `plan of stack ${stack}`);

export interface PlanResult {
    readonly text: string;
    readonly json: unknown;
    readonly access: AccessReport;
    readonly sizes: readonly DocumentSize[];
}

/** Runs the project's stacks and renders the plan. */
export async function plan(options: PlanOptions, progress?: (line: string) => void): Promise<PlanResult> {
    const ecrFile = findEcrStackFile(options.dir, options.stack);
    const projectFile = path.join(options.dir, "Pulumi.yaml");
    const project = fs.existsSync(projectFile) ? readProject(projectFile) : undefined;
    const every = (total: number) => Math.max(1, Math.floor(total / 10));
    const run = await runProject({
        ecrFile,
        accounts: options.accounts,
        project,
        // Progress on stderr for fleets large enough to take a while; stdout stays the plan.
        onProgress: (done, total, stack) => {
            if (total >= 10 && (done % every(total) === 0 || done === total - 1)) {
                progress?.(`ecrpull plan: cluster stack ${done + 1} of ${total} (${stack})`);
            }
        },
    });
    // The configs the programs ran with: each stack file and its environments are read once, by runProject.
    const ecrConfig = run.ecr.config;
    const registryLimits: QuotaLimits = { ...DEFAULT_LIMITS, ...((ecrConfig["ecrpull:limits"] as Partial<QuotaLimits> | undefined) ?? {}) };
    const clusterLimits = (stack: EksStackRunResult): QuotaLimits => ({
        ...DEFAULT_LIMITS,
        ...((stack.config["ecrpull:limits"] as Partial<QuotaLimits> | undefined) ?? {}),
    });

    // Organization-scoped trusts check where each account sits in AWS Organizations, which
    // no stack file says: the plan takes every account to be inside the grants' scope.
    const scoped = ((ecrConfig["ecrpull:grants"] ?? []) as GrantSpec[]).filter((g) => g.scope);
    const organization = scoped.length > 0 ? exampleOrganization(scoped) : undefined;
    const notes = [...run.notes];
    if (organization) {
        notes.push(
            `every account is taken to be in organization ${organization.id}, at ${organization.path}, as the organization-scoped grants need; \`pulumi up\` does not check it, AWS does at each request.`,
        );
    }
    // Every cluster the plan ran: the listed ones, then those that join by organization scope.
    const clusterRuns = [...run.eks, ...run.joining];
    const access = accessReport(
        readFleetState(
            asState(run.ecr.run, "ecr"),
            clusterRuns.map((e) => asState(e.run, e.name.split("/").pop()!)),
            organization ? { organization: { id: organization.id, pathOf: () => organization.path } } : {},
        ),
    );
    const admissions = organizationAdmissions(scoped, partitionOfRegion(String(ecrConfig["aws:region"] ?? "eu-west-1")));
    const sizes = [
        ...clusterRuns.flatMap((e) => documentSizes(e.accountId, e.run.resources, clusterLimits(e))),
        ...documentSizes(run.ecr.accountId, run.ecr.run.resources, registryLimits),
    ];

    const out: string[] = [
        `ecrpull plan: what \`pulumi up\` would do in each account, from ${path.relative(process.cwd(), ecrFile) || ecrFile} and the stacks it lists${run.joining.length > 0 ? ` or that join by organization scope (${run.joining.map((e) => e.name).join(", ")})` : ""} (nothing is sent to AWS)`,
        "",
    ];
    const clusterHeading = (e: EksStackRunResult) =>
        `Cluster account ${e.accountId}${e.accountGiven ? "" : " (example)"} - stack ${e.name} - cluster ${e.clusterName} (${e.adopted ? "adopted" : "created"})`;
    const joins = new Set(run.joining);
    for (const e of clusterRuns) {
        const podSpecs = (e.run.outputs as Resolved<EksProgramOutputs>).podSpecs as Record<string, WorkloadPodSettings>;
        out.push(clusterHeading(e));
        if (joins.has(e)) {
            out.push(
                `  joins by organization scope: ${path.basename(ecrFile)} does not list it in ecrpull:clusterStacks, so the registry does not read it; only organization-scoped grants admit it`,
            );
        }
        out.push(`  creates ${resourceSummary(e.run.resources)}`, "  workloads:", ...workloadLines(podSpecs, e.run.resources));
        if (options.documents) {
            out.push("", ...documentLines(e.run.resources, podSpecs));
        }
        out.push("");
    }
    const ecrStackName = path.basename(ecrFile).replace(/^Pulumi\.|\.ya?ml$/g, "");
    const issuerOfCluster = Object.fromEntries(run.eks.map((e) => [e.name, String((e.run.outputs as Resolved<EksProgramOutputs>).oidcIssuerUrl)]));
    const adopted = adoptedResources(run.ecr.run.resources, ecrConfig["ecrpull:adopt"], run.ecr.accountId, issuerOfCluster);
    const importFile = adopted.length > 0 ? importFileFor(run.ecr.run.resources, adopted) : undefined;
    out.push(
        `Registry account ${run.ecr.accountId} - stack ${ecrStackName}`,
        `  creates ${resourceSummary(run.ecr.run.resources.filter((r) => !adopted.includes(r)))}`,
    );
    const replicaRegions = [
        ...new Set(run.ecr.run.resources.filter((r) => r.type === "aws:ecr/repository:Repository" && r.inputs.region).map((r) => String(r.inputs.region))),
    ].sort();
    for (const region of replicaRegions) {
        const here = run.ecr.run.resources.filter((r) => r.type === "aws:ecr/repository:Repository" && r.inputs.region === region).map((r) => r.inputs.name);
        const clusters = clusterRuns.filter((e) => String(e.run.outputs.region) === region).map((e) => e.clusterName);
        out.push(
            `  replicates to ${region}: ${here.sort().join(", ")}; pulled there by ${clusters.length > 0 ? clusters.join(", ") : "no cluster of these stacks"}`,
        );
    }
    if (adopted.length === 0 && options.importFile !== undefined) {
        out.push("  --import-file: ecrpull:adopt names nothing, so there is nothing to import and no file was written.");
    }
    if (adopted.length > 0) {
        out.push(`  adopts ${adopted.map(adoptedLabel).join(", ")}`);
        if (options.importFile !== undefined) {
            fs.writeFileSync(options.importFile, `${JSON.stringify(importFile, null, 2)}\n`);
            out.push(
                `  wrote ${path.relative(process.cwd(), options.importFile) || options.importFile} (${importFile!.resources.length} entries): take them into the stack once, before its first \`pulumi up\`, with`,
                `    pulumi import --stack ${ecrStackName} --file ${path.relative(process.cwd(), options.importFile) || options.importFile} --generate-code=false --protect=false --yes`,
            );
        } else {
            out.push("  `ecrpull plan --import-file <file>` writes the file `pulumi import --file` takes them into the stack with.");
        }
    }
    if (options.documents) {
        out.push("", ...documentLines(run.ecr.run.resources));
        if (importFile) {
            out.push(
                "  import file (what --import-file writes):",
                ...JSON.stringify(importFile, null, 2)
                    .split("\n")
                    .map((l) => `    ${l}`),
            );
        }
    }
    if (admissions.length > 0) {
        out.push("", "Organization scope: whom these trusts admit beyond the clusters above:", ...admissions.map((a) => `  - ${a}`));
    }
    out.push("", "Who can pull what (evaluated from the documents above, not from the config):", "", renderMarkdown(access), "");
    const near = sizes.filter((s) => s.size >= s.limit * NEAR_LIMIT).sort((a, b) => percent(b) - percent(a));
    const largest = [...sizes].sort((a, b) => percent(b) - percent(a))[0];
    if (options.documents) {
        out.push("Policy sizes against their AWS limits (characters, white space not counted):", ...sizes.map(sizeLine), "");
        out.push("```mermaid", renderMermaid(access), "```", "");
    } else if (near.length > 0) {
        out.push(`Documents near their limits (${NEAR_LIMIT * 100}% or more):`, ...near.map(sizeLine), "");
    } else if (largest) {
        out.push(
            `No document is near its limit; the largest is the ${largest.kind} of ${largest.owner}: ${largest.size} of ${largest.limit} characters (${percent(largest)}%).`,
            "",
        );
    }
    if (notes.length > 0) {
        out.push("Assumed in place of AWS:", ...notes.map((n) => `  - ${n}`), "");
    }
    if (!options.documents) {
        out.push("`ecrpull plan --documents` prints every document and the chained pod settings; `--json` gives all of it as JSON.");
    }
    const clusterJson = (e: EksStackRunResult) => ({
        stack: e.name,
        account: e.accountId,
        accountIsExample: !e.accountGiven,
        cluster: e.clusterName,
        adopted: e.adopted,
        resources: e.run.resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name })),
        outputs: e.run.outputs,
    });
    const json = {
        clusterStacks: run.eks.map(clusterJson),
        /** EKS stacks the registry does not list, which join by organization scope. */
        joiningStacks: run.joining.map(clusterJson),
        registryStack: {
            account: run.ecr.accountId,
            resources: run.ecr.run.resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name })),
            outputs: run.ecr.run.outputs,
        },
        access,
        documents: sizes,
        assumed: notes,
        ...(importFile ? { importFile } : {}),
    };
    return { text: out.join("\n"), json, access, sizes };
}

/** The organization the plan's example accounts are taken to be in: the scoped grants', inside the first OU one names. */
function exampleOrganization(scoped: readonly GrantSpec[]): { id: string; path: string } {
    const id = scoped[0].scope!.organization;
    const unit = scoped.flatMap((g) => g.scope!.organizationalUnits ?? [])[0];
    return { id, path: unit ? unit.replace(/\*$/, "") : `${id}/r-exampleroot/` };
}

export const planCommand: Command = {
    name: "plan",
    summary: "what `pulumi up` would do in each account, from this project's stack files (no cloud)",
    help: [
        "usage: ecrpull plan [--dir <project>] [--stack <ecr stack>] [--account <eks stack>=<12-digit account>]... [--documents] [--json] [--import-file <file>]",
        "",
        "Runs the EKS program of every stack the ECR stack file lists, then the ECR program with their",
        "outputs, on Pulumi's mock engine: no CLI, no credentials, no network. With organization-scoped",
        "grants, the other EKS stack files beside it run too, as clusters that join by scope. Prints per",
        "account what would be created, who could pull what, and the documents near their limits.",
        "",
        "  --dir <project>        the Pulumi project directory (Pulumi.yaml and stack files); default: here",
        "  --stack <ecr stack>    the ECR stack (Pulumi.<stack>.yaml); default: the one whose ecrpull:program is ecr",
        "  --account <s>=<id>     the account an EKS stack deploys to (default: example accounts, said so)",
        "  --documents            also every policy document, their sizes, the chained pod settings and a Mermaid diagram",
        "  --json                 everything as JSON",
        "  --import-file <file>   write the `pulumi import --file` file of what ecrpull:adopt takes over",
        "",
        "Exit code: 0 planned, 1 a program refused the config (pulumi up would fail the same way), 2 wrong arguments or files.",
    ].join("\n"),
    options: {
        dir: { type: "string" },
        stack: { type: "string" },
        account: { type: "string", multiple: true },
        documents: { type: "boolean" },
        json: { type: "boolean" },
        "import-file": { type: "string" },
    },
    async run(values: Values, io: Io): Promise<number> {
        const accounts: Record<string, string> = {};
        for (const value of many(values, "account")) {
            const match = /^([^=]+)=(\d{12})$/.exec(value);
            if (!match) {
                throw new UsageError(`--account ${JSON.stringify(value)} is not <eks stack>=<12-digit account> (e.g. eks=444455556666).`);
            }
            accounts[match[1]] = match[2];
        }
        const result = await plan(
            {
                dir: path.resolve(io.cwd, single(values, "dir") ?? "."),
                stack: single(values, "stack"),
                accounts,
                documents: values.documents === true,
                json: values.json === true,
                importFile: single(values, "import-file") === undefined ? undefined : path.resolve(io.cwd, single(values, "import-file")!),
            },
            (line) => io.err(`${line}\n`),
        );
        io.out(`${values.json === true ? JSON.stringify(result.json, null, 2) : result.text}\n`);
        return 0;
    },
};
