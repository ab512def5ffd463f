/**
 * `npm run plan`: what `pulumi up` would create in each account, from the
 * example stack files, with no CLI, no credentials and no network.
 *
 * Runs the EKS program for every stack the ECR stack references (its config
 * is read from `Pulumi.<stack>.yaml`, by the last part of the name), then the
 * ECR program with their outputs behind its stack references, and prints the
 * resources, the rendered policies and each policy's size against its limit.
 *
 *   npm run plan                       # Pulumi.ecr.yaml and the eks stacks it lists
 *   npm run plan -- --ecr Pulumi.ecr.yaml --account eks=444455556666
 *   npm run plan -- --json             # only the access report, as JSON
 *
 * It ends with the access report: who can pull which repository, by which
 * path, evaluated from the documents the runs registered (written as stack
 * state, the same input the audit reads from deployed stacks), with a
 * Mermaid diagram.
 */
import * as path from "path";
import { accessReport, readFleetState, renderMarkdown, renderMermaid } from "../report/report";
import { policySize } from "../../components/iam/policies";
import { parseStackExport, StackExport } from "../state/stack-export";
import { DEFAULT_LIMITS, QuotaLimits } from "../../components/iam/quotas";
import * as yaml from "js-yaml";
import { WorkloadPodSettings } from "../../components/cluster/pod-settings";
import { ProgramRun, RecordedResource } from "../engine/mock-engine";
import { runProject } from "../engine/project-run";
import { readStackConfig, StackFileError } from "../state/stack-file";
import { toStackExport } from "../state/from-run";
import { describeFailure } from "./errors";

/** Resources as a tree, children under their component. */
function tree(resources: readonly RecordedResource[]): string[] {
    const lines: string[] = [];
    const children = (parent: string) => resources.filter((r) => r.parent === parent && r.urn !== "");
    const walk = (parent: string, depth: number) => {
        for (const r of children(parent)) {
            lines.push(`${"    ".repeat(depth)}+ ${r.type.padEnd(Math.max(0, 52 - depth * 4))} ${r.name}`);
            walk(r.urn, depth + 1);
        }
    };
    walk("", 1);
    const references = resources.filter((r) => r.type === "pulumi:pulumi:StackReference");
    for (const r of references) {
        lines.push(`    > ${"pulumi:pulumi:StackReference (read)".padEnd(52)} ${r.name}`);
    }
    return lines;
}

/**
 * Each workload with what it needs at run time, by path: which
 * ServiceAccount, which annotation or association, which environment.
 */
function workloadLines(resources: readonly RecordedResource[], podSpecs: Readonly<Record<string, WorkloadPodSettings>>): string[] {
    const lines = ["  Workloads (how each reaches its grant's pull role in the registry account):"];
    for (const [key, settings] of Object.entries(podSpecs).sort(([a], [b]) => (a < b ? -1 : 1))) {
        lines.push(`    ${key} -- grant ${settings.grant}, path ${settings.path}`);
        const sa = resources.find(
            (r) => /^kubernetes:core\/v1:ServiceAccount(Patch)?$/.test(r.type) && `${r.inputs.metadata.namespace}/${r.inputs.metadata.name}` === key,
        );
        if (settings.path === "federation") {
            lines.push(`        ServiceAccount annotation eks.amazonaws.com/role-arn: ${sa?.inputs.metadata.annotations?.["eks.amazonaws.com/role-arn"]}`);
            lines.push("        env, injected by EKS's IRSA webhook: AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE");
        } else if (settings.path === "chaining") {
            // The exact fragment to add to the pod spec (also the eks stack's output podSpecs, and withPullAccess).
            const fragment = {
                serviceAccountName: settings.serviceAccountName,
                volumes: settings.volumes,
                containers: [{ name: "<each container that calls AWS>", volumeMounts: settings.volumeMounts, env: settings.env }],
            };
            lines.push("        ServiceAccount not annotated; add to the pod spec (podSpecs output, or withPullAccess):");
            lines.push(
                ...yaml
                    .dump(fragment, { lineWidth: 160 })
                    .trimEnd()
                    .split("\n")
                    .map((l) => `          ${l}`),
            );
        } else {
            const association = resources.find(
                (r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" && `${r.inputs.namespace}/${r.inputs.serviceAccount}` === key,
            );
            lines.push(`        PodIdentityAssociation role ${association?.inputs.roleArn}, target role ${association?.inputs.targetRoleArn}`);
            lines.push("        env, injected by EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        }
    }
    return lines;
}

function sizeLine(kind: string, owner: string, size: number, limit: number): string {
    const percent = Math.round((size / limit) * 100);
    const flag = size > limit ? "  OVER THE LIMIT" : "";
    return `    ${`${kind} of ${owner}`.padEnd(58)} ${String(size).padStart(6)} / ${String(limit).padEnd(6)} (${percent}%)${flag}`;
}

function indentJson(json: string): string {
    return JSON.stringify(JSON.parse(json), null, 2)
        .split("\n")
        .map((l) => `        ${l}`)
        .join("\n");
}

/** A role's name, its trust policy and its inline policy, indented for the plan. */
function roleLines(role: RecordedResource, policy: RecordedResource): string[] {
    return [`    ${role.inputs.name}`, "      trust policy:", indentJson(role.inputs.assumeRolePolicy), "      role policy:", indentJson(policy.inputs.policy)];
}

/** A mock run as the state `pulumi stack export` would give after `pulumi up`. */
function asState(run: ProgramRun<unknown>, stack: string): StackExport {
    return parseStackExport(JSON.stringify(toStackExport(run, { stack })), `plan of stack ${stack}`);
}

const USAGE = "usage: npm run plan -- [--ecr Pulumi.ecr.yaml] [--account <eks stack>=<12-digit account>]... [--json]";

function parseArguments(argv: readonly string[]): { ecrFile: string; accounts: Record<string, string>; json: boolean } {
    const root = path.resolve(__dirname, "..");
    let ecrFile = path.resolve(root, "Pulumi.ecr.yaml");
    const accounts: Record<string, string> = {};
    let json = false;
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (flag === "--json") {
            json = true;
        } else if (flag === "--ecr" && value && !value.startsWith("--")) {
            ecrFile = path.resolve(process.cwd(), value);
            i++;
        } else if (flag === "--account" && value && /^[^=]+=\d{12}$/.test(value)) {
            const [stack, account] = value.split("=");
            accounts[stack] = account;
            i++;
        } else {
            throw new StackFileError(
                `${JSON.stringify(flag)}${flag === "--account" ? ` ${JSON.stringify(value ?? "")} is not <stack>=<12-digit account>` : " is not an argument of the plan"}; ${USAGE}`,
            );
        }
    }
    return { ecrFile, accounts, json };
}

async function main(): Promise<void> {
    const { ecrFile, accounts, json } = parseArguments(process.argv.slice(2));
    const project = await runProject({ ecrFile, accounts });
    const ecrConfig = readStackConfig(ecrFile);
    // Registry documents are measured against the limits the ecr stack plans with, raised ones included.
    const limits: QuotaLimits = { ...DEFAULT_LIMITS, ...((ecrConfig["ecrpull:limits"] as Partial<QuotaLimits> | undefined) ?? {}) };

    const out: string[] = [];
    out.push("Plan: what `pulumi up` would do in each account (in-process mock engine: no CLI, no credentials, no network)", "");

    const clusterStates: StackExport[] = [];
    for (const stack of project.eks) {
        const { run, name: stackName, file, accountId } = stack;
        clusterStates.push(asState(run, stackName.split("/").pop()!));
        out.push(
            `== Cluster account ${accountId}${stack.accountGiven ? "" : " (example)"} -- stack ${stackName} (${path.basename(file)}), program eks, cluster ${stack.clusterName} (${stack.adopted ? "adopted" : "created"})`,
        );
        out.push("  Resources:", ...tree(run.resources), "");
        out.push(...workloadLines(run.resources, run.outputs.podSpecs as Record<string, WorkloadPodSettings>), "");
        const clusterRoles = run.resources.filter((r) => r.type === "aws:iam/role:Role" && /^ecr-(chain|podid)-/.test(String(r.inputs.name)));
        if (clusterRoles.length > 0) {
            out.push("  Cluster-account roles (their only permission: assume the grant's pull role):");
            for (const role of clusterRoles) {
                const policy = run.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === `${role.name}-assume`)!;
                out.push(...roleLines(role, policy));
                out.push(sizeLine("trust policy", role.inputs.name, policySize(role.inputs.assumeRolePolicy), DEFAULT_LIMITS.trustPolicy));
            }
            out.push("");
        }
        out.push("", "  Outputs (the wire contract the ecr stack reads):");
        for (const [key, value] of Object.entries(run.outputs)) {
            const shown =
                key === "workloads"
                    ? `${(value as unknown[]).length} workloads (above)`
                    : key === "podSpecs"
                      ? "pod settings of each workload (above)"
                      : JSON.stringify(value);
            out.push(`    ${key.padEnd(16)} ${shown}`);
        }
        out.push("");
    }

    const ecr = project.ecr.run;
    const registryAccount = project.ecr.accountId;
    out.push(`== Registry account ${registryAccount} -- stack ecr (${path.basename(ecrFile)}), program ecr`);
    out.push("  Resources:", ...tree(ecr.resources), "");

    // Everything below is read from the inputs the resources were registered
    // with: what is printed is exactly what `pulumi up` would send to AWS.
    const inputsOf = (type: string) => ecr.resources.filter((r) => r.type === type);
    const sizes: string[] = [];
    out.push("  Pull roles:");
    for (const role of inputsOf("aws:iam/role:Role")) {
        const policy = inputsOf("aws:iam/rolePolicy:RolePolicy").find((p) => p.parent === role.parent)!;
        out.push(...roleLines(role, policy));
        sizes.push(sizeLine("trust policy", role.inputs.name, policySize(role.inputs.assumeRolePolicy), limits.trustPolicy));
        sizes.push(sizeLine("role policy", role.inputs.name, policySize(policy.inputs.policy), limits.rolePolicy));
    }
    out.push("", "  Repositories and their policies:");
    for (const repository of inputsOf("aws:ecr/repository:Repository")) {
        const name = repository.inputs.name;
        const policy = inputsOf("aws:ecr/repositoryPolicy:RepositoryPolicy").find((p) => p.parent === repository.parent);
        const lifecycle = inputsOf("aws:ecr/lifecyclePolicy:LifecyclePolicy").find((p) => p.parent === repository.parent)!;
        const settings = [
            repository.inputs.imageTagMutability,
            repository.inputs.imageScanningConfiguration.scanOnPush ? "scan on push" : "no scan on push",
            repository.inputs.encryptionConfigurations[0].encryptionType,
            repository.retainOnDelete ? "retained on delete" : "deleted with the stack",
        ].join(", ");
        out.push(`    ${name} (${settings})`);
        if (policy) {
            out.push(indentJson(policy.inputs.policy));
            sizes.push(sizeLine("repository policy", name, policySize(policy.inputs.policy), limits.repositoryPolicy));
        } else {
            out.push("        no repository policy: no grant names it, so only this account may pull");
        }
        sizes.push(sizeLine("lifecycle policy", name, policySize(lifecycle.inputs.policy), limits.lifecyclePolicy));
    }
    out.push("", "  Policy sizes against their AWS limits (characters, white space not counted):", ...sizes);
    out.push("", "  Outputs:");
    for (const [key, value] of Object.entries(ecr.outputs)) {
        out.push(`    ${key.padEnd(18)} ${JSON.stringify(value)}`);
    }
    const report = accessReport(readFleetState(asState(ecr, "ecr"), clusterStates));
    if (json) {
        console.log(JSON.stringify(report, null, 2));
        return;
    }
    if (project.notes.length > 0) {
        out.push("", "  What the plan assumed in place of AWS:", ...project.notes.map((n) => `    - ${n}`));
    }
    out.push("", "== Access report: who can pull what, evaluated from the documents above (not from the config)", "");
    out.push(renderMarkdown(report), "", "```mermaid", renderMermaid(report), "```");
    console.log(out.join("\n"));
}

main().catch((error) => {
    console.error(describeFailure(error));
    process.exit(1);
});
