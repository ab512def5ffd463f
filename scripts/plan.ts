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
 *   npm run plan -- --ecr Pulumi.ecr.yaml
 *   npm run plan -- --json             # only the access report, as JSON
 *
 * It ends with the access report: who can pull which repository, by which
 * path, evaluated from the documents the runs registered (written as stack
 * state, the same input the audit reads from deployed stacks), with a
 * Mermaid diagram.
 */
import * as path from "path";
import { accessReport, readFleetState, renderMarkdown, renderMermaid } from "../components/access-report";
import { policySize } from "../components/policies";
import { parseStackExport, StackExport } from "../components/stack-export";
import { DEFAULT_LIMITS, QuotaLimits } from "../components/registry-plan";
import { EXAMPLE_CLUSTER_ACCOUNTS, readStackConfig } from "./example-state";
import { ProgramRun, RecordedResource } from "./mock-engine";
import { toStackExport } from "./stack-export";
import { runEcrStack, runEksStack } from "./two-stacks";

function argument(flag: string, fallback: string): string {
    const i = process.argv.indexOf(flag);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

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
function workloadLines(resources: readonly RecordedResource[]): string[] {
    const lines = ["  Workloads (how each reaches its grant's pull role in the registry account):"];
    const accounts = resources
        .filter((r) => r.type === "kubernetes:core/v1:ServiceAccount")
        .sort((a, b) => (`${a.inputs.metadata.namespace}/${a.inputs.metadata.name}` < `${b.inputs.metadata.namespace}/${b.inputs.metadata.name}` ? -1 : 1));
    for (const sa of accounts) {
        const { namespace, name, labels, annotations } = sa.inputs.metadata;
        const path = labels["ecrpull.dev/path"];
        lines.push(`    ${namespace}/${name} -- grant ${labels["ecrpull.dev/grant"]}, path ${path}`);
        const annotation = annotations["eks.amazonaws.com/role-arn"];
        if (path === "federation") {
            lines.push(`        ServiceAccount annotation eks.amazonaws.com/role-arn: ${annotation}`);
            lines.push("        env, injected by EKS's IRSA webhook: AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE");
        } else if (path === "chaining") {
            const config = resources.find(
                (r) =>
                    r.type === "kubernetes:core/v1:ConfigMap" &&
                    r.inputs.metadata.namespace === namespace &&
                    r.inputs.metadata.labels["ecrpull.dev/grant"] === labels["ecrpull.dev/grant"],
            );
            lines.push(`        ServiceAccount annotation eks.amazonaws.com/role-arn: ${annotation} (the IRSA role of this account)`);
            lines.push(
                `        mount ConfigMap ${namespace}/${config?.inputs.metadata.name} at /etc/ecr-pull; env AWS_CONFIG_FILE=/etc/ecr-pull/config, AWS_PROFILE=ecr-pull`,
            );
        } else {
            const association = resources.find(
                (r) =>
                    r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" && r.inputs.namespace === namespace && r.inputs.serviceAccount === name,
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

async function main(): Promise<void> {
    const json = process.argv.includes("--json");
    const root = path.resolve(__dirname, "..");
    const ecrFile = path.resolve(root, argument("--ecr", "Pulumi.ecr.yaml"));
    const ecrConfig = readStackConfig(ecrFile);
    const region = String(ecrConfig["aws:region"] ?? "us-east-1");
    // Registry documents are measured against the limits the ecr stack plans with, raised ones included.
    const limits: QuotaLimits = { ...DEFAULT_LIMITS, ...((ecrConfig["ecrpull:limits"] as Partial<QuotaLimits> | undefined) ?? {}) };
    const clusterStacks = Array.isArray(ecrConfig["ecrpull:clusterStacks"]) ? (ecrConfig["ecrpull:clusterStacks"] as string[]) : [];

    const out: string[] = [];
    out.push("Plan: what `pulumi up` would do in each account (in-process mock engine: no CLI, no credentials, no network)", "");

    let registryAccountId = "";
    const references: Record<string, Record<string, unknown>> = {};
    const clusterStates: StackExport[] = [];
    for (const [i, stackName] of clusterStacks.entries()) {
        const file = path.join(path.dirname(ecrFile), `Pulumi.${stackName.split("/").pop()}.yaml`);
        const config = readStackConfig(file);
        registryAccountId ||= String(config["ecrpull:registryAccountId"] ?? "");
        const accountId = EXAMPLE_CLUSTER_ACCOUNTS[i % EXAMPLE_CLUSTER_ACCOUNTS.length];
        const issuers: string[] = [];
        const run = await runEksStack({
            name: stackName,
            config,
            accountId,
            region: String(config["aws:region"] ?? region),
            // The plan never touches the network: it says what `pulumi up` would fetch instead.
            fetchThumbprint: async (url) => (issuers.push(url), ""),
        });
        references[stackName] = run.outputs as Record<string, unknown>;
        clusterStates.push(asState(run, stackName.split("/").pop()!));
        out.push(`== Cluster account ${accountId} (example) -- stack ${stackName} (${path.basename(file)}), program eks`);
        out.push("  Resources:", ...tree(run.resources), "");
        out.push(...workloadLines(run.resources), "");
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
            out.push(`    ${key.padEnd(16)} ${key === "workloads" ? `${(value as unknown[]).length} workloads (above)` : JSON.stringify(value)}`);
        }
        if (issuers.length > 0) {
            out.push(`    (oidcThumbprint: \`pulumi up\` fetches it over TLS from ${new URL(issuers[0]).host}; the plan does not touch the network)`);
        }
        out.push("");
    }

    const registryAccount = registryAccountId || "111122223333";
    const ecr = await runEcrStack({ config: ecrConfig, accountId: registryAccount, region }, references);
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
    out.push("", "== Access report: who can pull what, evaluated from the documents above (not from the config)", "");
    out.push(renderMarkdown(report), "", "```mermaid", renderMermaid(report), "```");
    console.log(out.join("\n"));
}

main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
