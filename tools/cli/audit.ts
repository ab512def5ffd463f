/**
 * `ecrpull audit`: the access report of deployed stacks, from their
 * `pulumi stack export --show-secrets` files, and their drift from what the
 * current code would deploy.
 *
 *   ecrpull audit --ecr ecr.json --eks eks-a.json --eks eks-b.json [--config-dir .] [--json]
 *
 * Config is not in a state, so the programs are re-run on the mock engine
 * with each stack's `Pulumi.<stack>.yaml` (from --config-dir, default the
 * working directory), and the ECR program reads the deployed EKS outputs
 * behind its stack references, as `pulumi up` would. What only a provider
 * computes (a created cluster's issuer, an auto-named node role) is taken
 * from the state, so that it never reads as drift.
 *
 * Exit code: 0 when there is no error (warnings: unused grants, documents
 * near their quota), 1 when there is drift, a missing or extra resource, a
 * dangling role or a document over its quota, 2 when the files cannot be
 * audited (the message names the file and what is wrong).
 */
import * as fs from "fs";
import * as path from "path";
import { OrganizationFacts, renderMarkdown, renderMermaid } from "../report/report";
import { organizationOfPath } from "../../components/iam/org-scope";
import { issuerHostPath } from "../../components/iam/names";
import { sidSuffix } from "../../components/iam/policies";
import { DEFAULT_LIMITS, QuotaLimits } from "../../components/iam/quotas";
import { parseStackExport, StackExport } from "../state/stack-export";
import { AuditError, auditStates, AuditResult, renderFindings, requirePlaintext, StateSet } from "../audit/audit";
import { effectiveStackConfig } from "../state/esc";
import { ProgramRun } from "../engine/mock-engine";
import { toStackExport } from "../state/from-run";
import { Command, Io, many, single, UsageError, Values } from "./command";
import { runEcrStack, runEksStack } from "../engine/two-stacks";
import { taggedNodeRoles } from "../engine/adopted-node-roles";
import { hasScopedGrants } from "../engine/project-run";

export interface AuditOptions {
    readonly ecrFile: string;
    readonly eksFiles: readonly string[];
    /** Where the `Pulumi.<stack>.yaml` files are. */
    readonly configDir: string;
    /** `--org-path`: where accounts sit in AWS Organizations, `<path>` for every account or `<account>=<path>`. */
    readonly orgPaths?: readonly string[];
}

/**
 * `--org-path` values as the report's organization facts: each account at
 * its own path or at the path given without an account; a path names its
 * account's organization, so an account of another organization is said by
 * its path.
 */
export function organizationFromPaths(values: readonly string[]): OrganizationFacts | undefined {
    if (values.length === 0) {
        return undefined;
    }
    const byAccount = new Map<string, string>();
    let fallback: string | undefined;
    for (const value of values) {
        const [account, orgPath] = value.includes("=") ? value.split("=", 2) : [undefined, value];
        if (organizationOfPath(orgPath) === undefined || (account !== undefined && !/^\d{12}$/.test(account))) {
            throw new UsageError(
                `--org-path ${value}: give an account's path in AWS Organizations as aws:PrincipalOrgPaths has it, "o-<id>/r-<root>/ou-<id>/", for every account or as <12-digit account>=<path> (aws organizations list-parents, from the account up).`,
            );
        }
        if (account === undefined) {
            fallback = orgPath;
        } else {
            byAccount.set(account, orgPath);
        }
    }
    // Each path names its account's organization: an account of another organization is said so by its own path.
    const first = fallback ?? [...byAccount.values()][0];
    return { id: organizationOfPath(first)!, pathOf: (account) => byAccount.get(account) ?? fallback };
}

function readState(file: string): StackExport {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new AuditError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
    }
    const state = parseStackExport(text, file);
    requirePlaintext(state);
    return state;
}

function stackConfig(configDir: string, stack: string, source: string): Record<string, unknown> {
    const file = path.join(configDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new AuditError(
            `${source}: the stack ${stack} has no stack file ${file} (config is not in the state); give --config-dir with the project's Pulumi.<stack>.yaml files.`,
        );
    }
    // As the CLI hands it to the program: the ESC environments' pulumiConfig under the file's own.
    return effectiveStackConfig(file).config;
}

/** A run written as state, with values only a provider computes replaced by the deployed ones. */
function asState(run: ProgramRun<unknown>, like: StackExport, substitutions: readonly [string, string][]): StackExport {
    let text = JSON.stringify(toStackExport(run, { stack: like.stack, project: like.project }));
    for (const [generated, deployed] of substitutions) {
        if (generated && deployed && generated !== deployed) {
            text = text.split(generated).join(deployed);
        }
    }
    return parseStackExport(text, `generated state of ${like.stack}`);
}

/** What the current code would deploy for the stacks of these states, with their config (the ECR stack's already read). */
async function regenerate(deployed: StateSet, configDir: string, ecrConfig: Record<string, unknown>): Promise<StateSet> {
    const referenced = Array.isArray(ecrConfig["ecrpull:clusterStacks"]) ? (ecrConfig["ecrpull:clusterStacks"] as string[]) : [];
    // With organization-scoped grants, clusters join without being listed: their states are audited too.
    const scoped = hasScopedGrants(ecrConfig);
    const given = deployed.clusters.map((c) => c.stack);
    const byName = new Map<string, StackExport>();
    for (const name of referenced) {
        const state = deployed.clusters.find((c) => c.stack === name.split("/").pop());
        if (!state) {
            throw new AuditError(
                `${deployed.registry.source}: the ecr stack references ${name}, but no --eks export is of the stack ${name.split("/").pop()} (given: ${given.join(", ") || "none"}).`,
            );
        }
        byName.set(name, state);
    }
    const joining = new Map<string, StackExport>();
    for (const state of deployed.clusters) {
        if ([...byName.values()].includes(state)) {
            continue;
        }
        if (!scoped) {
            throw new AuditError(
                `${state.source}: the stack ${state.stack} is not one the ecr stack references (ecrpull:clusterStacks: ${referenced.join(", ") || "none"}).`,
            );
        }
        joining.set(state.stack, state);
    }
    const clusters: StackExport[] = [];
    for (const [name, state] of [...byName, ...joining]) {
        const outputs = state.outputs as {
            accountId?: string;
            region?: string;
            clusterName?: string;
            oidcIssuerUrl?: string;
            oidcThumbprint?: string;
            nodeRoleArns?: string[];
            nodePullGrants?: string[];
        };
        if (!outputs.accountId || !outputs.region || !outputs.clusterName || !outputs.oidcIssuerUrl) {
            throw new AuditError(
                `${state.source}: lacks the outputs accountId, region, clusterName and oidcIssuerUrl of an eks stack; give the export of an eks stack deployed by this package.`,
            );
        }
        const run = await runEksStack({
            name,
            config: stackConfig(configDir, state.stack, state.source),
            accountId: outputs.accountId,
            region: outputs.region,
            // An adopted cluster as EKS describes it, and its node roles as IAM does: the deploy that
            // wrote this state passed the stack's checks (the node-pull tags of the grants it exported).
            existingClusters: { [outputs.clusterName]: { issuerUrl: outputs.oidcIssuerUrl, addons: ["eks-pod-identity-agent"] } },
            existingRoles: taggedNodeRoles(outputs.nodeRoleArns ?? [], outputs.nodePullGrants ?? []),
            fetchThumbprint: async () => outputs.oidcThumbprint ?? "",
        });
        const generated = run.outputs as unknown as { oidcIssuerUrl: string; nodeRoleArns: string[] };
        // The issuer, and the Sids derived from it (policies.ts names IRSA statements after their issuer).
        const [mockIssuer, realIssuer] = [issuerHostPath(generated.oidcIssuerUrl ?? ""), issuerHostPath(outputs.oidcIssuerUrl)];
        const substitutions: [string, string][] = [
            [mockIssuer, realIssuer],
            [sidSuffix(mockIssuer), sidSuffix(realIssuer)],
        ];
        const nodeRoles = outputs.nodeRoleArns ?? [];
        if (generated.nodeRoleArns?.length === nodeRoles.length) {
            generated.nodeRoleArns.forEach((arn, i) =>
                substitutions.push([arn.slice(arn.lastIndexOf("/") + 1), nodeRoles[i].slice(nodeRoles[i].lastIndexOf("/") + 1)]),
            );
        }
        clusters.push(asState(run, state, substitutions));
    }
    const registryOutputs = deployed.registry.outputs as { registryAccountId?: string; region?: string };
    if (!registryOutputs.registryAccountId || !registryOutputs.region) {
        throw new AuditError(`${deployed.registry.source}: lacks the outputs registryAccountId and region; give the export of the ecr stack.`);
    }
    const references = Object.fromEntries([...byName].map(([name, state]) => [name, state.outputs as Record<string, unknown>]));
    const ecr = await runEcrStack({ config: ecrConfig, accountId: registryOutputs.registryAccountId, region: registryOutputs.region }, references);
    return { registry: asState(ecr, deployed.registry, []), clusters };
}

/** Reads the files, regenerates their stacks and audits them. */
export async function runAudit(options: AuditOptions): Promise<AuditResult> {
    const deployed: StateSet = { registry: readState(options.ecrFile), clusters: options.eksFiles.map(readState) };
    const ecrConfig = stackConfig(options.configDir, deployed.registry.stack, deployed.registry.source);
    const limits: QuotaLimits = { ...DEFAULT_LIMITS, ...((ecrConfig["ecrpull:limits"] as Partial<QuotaLimits> | undefined) ?? {}) };
    const organization = organizationFromPaths(options.orgPaths ?? []);
    return auditStates(deployed, await regenerate(deployed, options.configDir, ecrConfig), limits, organization ? { organization } : {});
}

export const auditCommand: Command = {
    name: "audit",
    summary: "who can pull what in deployed stacks, and how they drifted from the current code",
    help: [
        "usage: ecrpull audit --ecr <ecr export> --eks <eks export> [--eks <another>]... [--config-dir <dir>] [--org-path <path>]... [--json]",
        "",
        "Reads the files `pulumi stack export --show-secrets` writes for the ECR stack and each EKS stack it",
        "references, re-runs both programs with the stacks' Pulumi.<stack>.yaml, and reports drift (document by",
        "document), missing and extra resources, unused grants, dangling roles, documents near or over their",
        "quota, and who can pull what from the deployed documents.",
        "",
        "  --ecr <file>           the ECR stack's export",
        "  --eks <file>           an EKS stack's export; one for each stack in ecrpull:clusterStacks (and, with",
        "                         organization-scoped grants, of any cluster that joined by scope)",
        "  --config-dir <dir>     where the Pulumi.<stack>.yaml files are; default: here",
        "  --org-path <path>      where the accounts sit in AWS Organizations, for organization-scoped grants:",
        "                         o-<id>/r-<root>/ou-<id>/ for every account, or <account>=<path> (an account of",
        "                         another organization by its own path); repeatable.",
        "                         Without it no account counts as in an organization, and scoped grants admit nobody.",
        "  --json                 the findings, the comparison and the access report as JSON",
        "",
        "Exit code: 0 nothing wrong (warnings allowed), 1 drift or another error found, 2 wrong arguments or files.",
    ].join("\n"),
    options: {
        ecr: { type: "string", multiple: true },
        eks: { type: "string", multiple: true },
        "config-dir": { type: "string" },
        "org-path": { type: "string", multiple: true },
        json: { type: "boolean" },
    },
    async run(values: Values, io: Io): Promise<number> {
        const ecr = many(values, "ecr");
        if (ecr.length !== 1) {
            throw new UsageError("give exactly one --ecr file (the ECR stack's `pulumi stack export --show-secrets`).");
        }
        const eks = many(values, "eks");
        if (eks.length === 0) {
            throw new UsageError("give an --eks file for each EKS stack the ECR stack references.");
        }
        const resolve = (file: string) => path.resolve(io.cwd, file);
        const options: AuditOptions = {
            ecrFile: resolve(ecr[0]),
            eksFiles: eks.map(resolve),
            configDir: resolve(single(values, "config-dir") ?? "."),
            orgPaths: many(values, "org-path"),
        };
        const result = await runAudit(options);
        const failed = result.findings.some((x) => x.severity === "error");
        if (values.json === true) {
            io.out(
                `${JSON.stringify({ ok: !failed, findings: result.findings, compared: result.compared, measured: result.measured, access: result.access }, null, 2)}\n`,
            );
        } else {
            const files = [options.ecrFile, ...options.eksFiles].map((file) => path.basename(file)).join(", ");
            io.out(
                `${[
                    `Audit of ${files} against the current code (stack files in ${options.configDir})`,
                    "",
                    renderFindings(result),
                    "",
                    "== Who can pull what, from the deployed documents",
                    "",
                    renderMarkdown(result.access),
                    "",
                    "```mermaid",
                    renderMermaid(result.access),
                    "```",
                ].join("\n")}\n`,
            );
        }
        return failed ? 1 : 0;
    },
};
