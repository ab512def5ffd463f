/**
 * Runs the stacks of a project directory the way `pulumi up` would run them,
 * one account after the other, on the mock engine: every EKS stack the ECR
 * stack file lists (`Pulumi.<last part of its name>.yaml` beside it), then
 * the ECR stack with their outputs behind its stack references. When the
 * registry has organization-scoped grants, the other EKS stack files beside
 * it run too, as clusters that join by scope: the registry does not read
 * them, and they get only what the scope admits. What the plan, the example
 * state and the tests run.
 *
 * Each stack runs the program its file's `ecrpull:program` names (or its
 * stack name), as the project's entry point does. What AWS would tell the
 * programs about an adopted cluster is made up, and said so in `notes`.
 */
import * as fs from "fs";
import * as path from "path";
import { POD_IDENTITY_AGENT_ADDON } from "../../components/cluster/cluster-pull-access";
import { isStackName } from "../../components/validation";
import { partitionOfRegion, PULL_ROLE_NAME_PREFIX } from "../../components/iam/names";
import { GrantSpec, RepositorySpec, withRepositoryDefaults } from "../../components/registry/spec";
import { nodePullTags } from "../../components/cluster/plan";
import { ExistingRegistryFixture } from "./fake-cloud";
import { taggedNodeRoles } from "./adopted-node-roles";
import { EcrProgramOutputs } from "../../stacks/ecr";
import { EksProgramOutputs } from "../../stacks/eks";
import { selectProgram } from "../../stacks/program";
import { fakeIssuerId, ProgramRun, Resolved } from "./mock-engine";
import { checkStackConfig, Project, withDeclaredDefaults } from "../state/project-config";
import { CONFIG_NAMESPACE, ConfigReader, readEksStackConfig } from "../../stacks/config";
import { StackFileError } from "../state/stack-file";
import { effectiveStackConfig } from "../state/esc";
import { runEcrStack, runEksStack } from "./two-stacks";

/** Accounts that stand in for the credentials of EKS stacks whose account was not given. */
export const EXAMPLE_CLUSTER_ACCOUNTS = ["444455556666", "777788889999", "123456789012"];
/** The registry account when no EKS stack file names it. */
export const EXAMPLE_REGISTRY_ACCOUNT = "111122223333";

export interface ProjectRunOptions {
    /** The ECR stack's file; the EKS stack files are found beside it. */
    readonly ecrFile: string;
    /** The account of each EKS stack, by its name in `ecrpull:clusterStacks` (or its last part, or a joining stack's name). Others get example accounts. */
    readonly accounts?: Readonly<Record<string, string>>;
    /** What `pulumi up` would fetch as the issuer's thumbprint. Default: nothing (no network), said in the notes. */
    readonly fetchThumbprint?: (issuerUrl: string) => Promise<string>;
    /** The project (Pulumi.yaml) whose typed config the CLI checks and whose defaults it adds. Default: none. */
    readonly project?: Project;
    /** Called before each EKS stack runs (a large fleet takes a while). */
    readonly onProgress?: (done: number, total: number, stack: string) => void;
}

export interface EksStackRunResult {
    /** Its name in `ecrpull:clusterStacks`; a joining stack's is its stack name. */
    readonly name: string;
    readonly file: string;
    readonly accountId: string;
    /** Whether the account came from the options, not from the examples. */
    readonly accountGiven: boolean;
    readonly clusterName: string;
    readonly adopted: boolean;
    /** The config the program ran with (environments resolved, declared defaults added). */
    readonly config: Readonly<Record<string, unknown>>;
    readonly run: ProgramRun<Resolved<EksProgramOutputs>>;
}

export interface ProjectRun {
    /** The EKS stacks `ecrpull:clusterStacks` lists, in its order. */
    readonly eks: readonly EksStackRunResult[];
    /**
     * The other EKS stack files beside the ECR stack's, when it has
     * organization-scoped grants: clusters that join by scope, which the
     * registry does not read (by file name).
     */
    readonly joining: readonly EksStackRunResult[];
    readonly ecr: {
        readonly file: string;
        readonly accountId: string;
        readonly config: Readonly<Record<string, unknown>>;
        readonly run: ProgramRun<Resolved<EcrProgramOutputs>>;
    };
    /** What the runs assumed in place of AWS, in sentences. */
    readonly notes: readonly string[];
}

const stackOfFile = (file: string) =>
    path
        .basename(file)
        .replace(/^Pulumi\./, "")
        .replace(/\.ya?ml$/, "");

/** The program a stack file selects, or a StackFileError saying why it is not the expected one. */
function requireProgram(file: string, config: Record<string, unknown>, expected: "eks" | "ecr", why: string): void {
    const configured = config["ecrpull:program"];
    let program: string;
    try {
        program = selectProgram(typeof configured === "string" ? configured : undefined, stackOfFile(file));
    } catch (error) {
        throw new StackFileError(`${file}: ${(error as Error).message}`);
    }
    if (program !== expected) {
        throw new StackFileError(`${file}: ecrpull:program is "${program}", but ${why}: set ecrpull:program to "${expected}", or list another stack.`);
    }
}

/**
 * A stack file's config as the CLI hands it over: its ESC environments'
 * pulumiConfig under its own config, checked against the project's typed
 * config, its defaults added.
 */
function configOf(file: string, options: ProjectRunOptions, notes?: string[]): Record<string, unknown> {
    const { config, unresolved } = effectiveStackConfig(file, options.project?.name);
    if (unresolved.length > 0) {
        notes?.push(
            `${path.basename(file)}: the environment${unresolved.length > 1 ? "s" : ""} ${unresolved.join(", ")} ha${unresolved.length > 1 ? "ve" : "s"} no definition in esc/ beside it, so ${unresolved.length > 1 ? "their" : "its"} pulumiConfig is not applied.`,
        );
    }
    if (!options.project) {
        return config;
    }
    const problems = checkStackConfig(options.project, config, file);
    if (problems.length > 0) {
        throw new StackFileError(problems.join("\n"));
    }
    return withDeclaredDefaults(options.project, config);
}

export async function runProject(options: ProjectRunOptions): Promise<ProjectRun> {
    const ecrFile = path.resolve(options.ecrFile);
    const notes: string[] = [];
    const ecrStack = { config: configOf(ecrFile, options, notes) };
    requireProgram(ecrFile, ecrStack.config, "ecr", "it is the registry stack's file");
    const region = String(ecrStack.config["aws:region"] ?? "us-east-1");
    const listed = ecrStack.config["ecrpull:clusterStacks"];
    // Malformed names are the ECR program's to report, at their keys; only well-formed ones have files.
    const names = Array.isArray(listed) ? listed.filter(isStackName) : [];
    const fetched = new Set<string>();
    const fetchThumbprint = options.fetchThumbprint ?? (async (url: string) => (fetched.add(new URL(url).host), ""));

    // Clusters joining by organization scope are not listed: any other EKS stack file beside it, when a grant is scoped.
    const scoped = hasScopedGrants(ecrStack.config);
    const listedFiles = new Set(names.map((name) => `Pulumi.${name.split("/").pop()}.yaml`));
    const joiningFiles = scoped ? otherEksStackFiles(ecrFile, listedFiles, options, notes) : [];

    const givenNames = [...names, ...joiningFiles.map((f) => f.stack)];
    const unknownAccounts = Object.keys(options.accounts ?? {}).filter((k) => !givenNames.some((n) => n === k || n.split("/").pop() === k));
    if (unknownAccounts.length > 0) {
        throw new StackFileError(
            `--account names ${unknownAccounts.join(", ")}, which ${ecrFile} does not list in ecrpull:clusterStacks (${names.join(", ") || "none"})${scoped ? " and which is no other EKS stack file beside it" : ""}.`,
        );
    }

    let registryAccountId = "";
    const runCluster = async (name: string, file: string, config: Record<string, unknown>, index: number): Promise<EksStackRunResult> => {
        registryAccountId ||= typeof config["ecrpull:registryAccountId"] === "string" ? config["ecrpull:registryAccountId"] : "";
        const given = options.accounts?.[name] ?? options.accounts?.[name.split("/").pop()!];
        const accountId = given ?? EXAMPLE_CLUSTER_ACCOUNTS[index % EXAMPLE_CLUSTER_ACCOUNTS.length];
        const cluster = (config["ecrpull:cluster"] ?? {}) as {
            name?: unknown;
            create?: unknown;
            oidcProvider?: unknown;
            podIdentityAgent?: unknown;
            vpcId?: unknown;
            subnetIds?: unknown;
            nodeRoleArns?: unknown;
        };
        const clusterName = typeof cluster.name === "string" ? cluster.name : "";
        const adopted = cluster.create !== true;
        const stackRegion = String(config["aws:region"] ?? region);
        // An adopted cluster as EKS would describe it: a made-up issuer of the real form, and
        // the add-on and the OIDC provider present exactly when the config says they are.
        const issuerUrl = `https://oidc.eks.${stackRegion}.amazonaws.com/id/${fakeIssuerId(`${accountId}/${clusterName}`)}`;
        const existingClusters = adopted
            ? {
                  [clusterName]: {
                      issuerUrl,
                      oidcProviderInAccount: (cluster.oidcProvider ?? "existing") === "existing",
                      addons: (cluster.podIdentityAgent ?? "present") === "present" ? [POD_IDENTITY_AGENT_ADDON] : [],
                  },
              }
            : undefined;
        // Its node roles as IAM would describe them: tagged for the organization-scoped grants it pulls.
        const nodePullGrants = adopted ? nodePullGrantsOf(config, name) : [];
        const existingRoles = nodePullGrants.length > 0 ? taggedNodeRoles(strings(cluster.nodeRoleArns), nodePullGrants) : undefined;
        if (existingRoles && Object.keys(existingRoles).length > 0) {
            const tags = Object.keys(nodePullTags(nodePullGrants));
            notes.push(
                `${name}: the adopted node role${Object.keys(existingRoles).length > 1 ? "s" : ""} ${Object.keys(existingRoles).join(", ")} ${Object.keys(existingRoles).length > 1 ? "are" : "is"} taken to carry ${tags.map((t) => `${t}=true`).join(", ")}; \`pulumi up\` reads ${Object.keys(existingRoles).length > 1 ? "them" : "it"} first and refuses, with the \`aws iam tag-role\` command, a role that lacks a tag.`,
            );
        }
        // A created cluster's subnets, as EC2 would describe them: in its VPC, one zone each.
        const subnetIds = !adopted && Array.isArray(cluster.subnetIds) ? cluster.subnetIds.filter((id): id is string => typeof id === "string") : [];
        const vpcId = typeof cluster.vpcId === "string" ? cluster.vpcId : "vpc-0defa017";
        const subnets = Object.fromEntries(subnetIds.map((id, j) => [id, { vpcId, availabilityZone: `${stackRegion}${"abcdef"[j % 6]}` }]));
        if (subnetIds.length > 0) {
            notes.push(
                `${name}: the subnets ${subnetIds.join(", ")} are taken to be in ${vpcId}, each in its own zone; \`pulumi up\` reads them from EC2 first.`,
            );
        }
        const run = await runEksStack({
            name,
            config,
            accountId,
            region: stackRegion,
            existingClusters,
            existingRoles,
            fetchThumbprint,
            subnets,
            defaultVpcId: vpcId,
        });
        if (adopted) {
            notes.push(
                `${name}: the adopted cluster "${clusterName}" stands for what EKS would report: its issuer is made up (${issuerUrl}), and its IAM OIDC provider and Pod Identity agent are taken to be as ecrpull:cluster says.`,
            );
        }
        if (!given) {
            notes.push(`${name}: account ${accountId} is an example; give the real one with --account ${name.split("/").pop()}=<12 digits>.`);
        }
        return { name, file, accountId, accountGiven: given !== undefined, clusterName, adopted, config, run };
    };

    const eks: EksStackRunResult[] = [];
    for (const [i, name] of names.entries()) {
        const file = path.join(path.dirname(ecrFile), `Pulumi.${name.split("/").pop()}.yaml`);
        options.onProgress?.(i, names.length + joiningFiles.length, name);
        const config = configOf(file, options, notes);
        requireProgram(file, config, "eks", `${path.basename(ecrFile)} lists its stack ${name} in ecrpull:clusterStacks`);
        eks.push(await runCluster(name, file, config, i));
    }
    const joining: EksStackRunResult[] = [];
    for (const [j, { stack, file, config }] of joiningFiles.entries()) {
        options.onProgress?.(names.length + j, names.length + joiningFiles.length, stack);
        joining.push(await runCluster(stack, file, config, names.length + j));
    }
    if (fetched.size > 0) {
        notes.push(
            `oidcThumbprint: \`pulumi up\` fetches it over TLS from ${[...fetched].sort().join(", ")}; the plan does not touch the network and leaves it empty.`,
        );
    }
    const references = Object.fromEntries(eks.map((e) => [e.name, e.run.outputs as Record<string, unknown>]));
    const accountId = registryAccountId || EXAMPLE_REGISTRY_ACCOUNT;
    const issuerOfCluster = Object.fromEntries(eks.map((e) => [e.name, String(e.run.outputs.oidcIssuerUrl)]));
    const existingRegistry = adoptedAsConfigured(ecrStack.config, accountId, partitionOfRegion(region), issuerOfCluster);
    if (existingRegistry) {
        notes.push(
            `${path.basename(ecrFile)}: the adopted resources are taken to exist as ecrpull:repositories and ecrpull:adopt describe them; \`pulumi up\` reads them first (a repository's encryption and images, a role's path and trust) and says what would change.`,
        );
    }
    const ecr = await runEcrStack({ config: ecrStack.config, accountId, region, existingRegistry }, references);
    return { eks, joining, ecr: { file: ecrFile, accountId, config: ecrStack.config, run: ecr }, notes };
}

/** Whether an ECR stack's config has an organization-scoped grant: then clusters join without being listed. */
export function hasScopedGrants(ecrConfig: Readonly<Record<string, unknown>>): boolean {
    const grants = ecrConfig["ecrpull:grants"];
    return Array.isArray(grants) && (grants as GrantSpec[]).some((g) => g?.scope !== undefined);
}

/** The EKS stack files beside the ECR stack's that it does not list, with their config (others are skipped). */
function otherEksStackFiles(
    ecrFile: string,
    listedFiles: ReadonlySet<string>,
    options: ProjectRunOptions,
    notes: string[],
): { stack: string; file: string; config: Record<string, unknown> }[] {
    const dir = path.dirname(ecrFile);
    return fs
        .readdirSync(dir)
        .filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f) && f !== path.basename(ecrFile) && !listedFiles.has(f))
        .sort()
        .flatMap((f) => {
            const file = path.join(dir, f);
            const config = configOf(file, options, notes);
            const configured = config["ecrpull:program"];
            try {
                return selectProgram(typeof configured === "string" ? configured : undefined, stackOfFile(file)) === "eks"
                    ? [{ stack: stackOfFile(file), file, config }]
                    : [];
            } catch {
                // Not a stack of either program: not a cluster.
                return [];
            }
        });
}

/**
 * The organization-scoped grants whose images an adopted cluster's nodes
 * pull, as its EKS program reads them from the stack's config; none when the
 * config does not read (its run says why).
 */
function nodePullGrantsOf(config: Readonly<Record<string, unknown>>, stack: string): readonly string[] {
    const reader: ConfigReader = {
        get: (key) => config[`${CONFIG_NAMESPACE}:${key}`],
        keys: () =>
            Object.keys(config)
                .filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:`))
                .map((k) => k.slice(CONFIG_NAMESPACE.length + 1)),
    };
    try {
        return readEksStackConfig(reader, stack.split("/").pop()!).nodePullGrants;
    } catch {
        return [];
    }
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

/**
 * The registry-account resources `ecrpull:adopt` names, as the config says
 * they are: what the plan's fake cloud answers when the program reads them
 * (no images, no known trust: the plan cannot read the real ones).
 */
function adoptedAsConfigured(
    config: Readonly<Record<string, unknown>>,
    accountId: string,
    partition: string,
    issuerOfCluster: Readonly<Record<string, string>>,
): ExistingRegistryFixture | undefined {
    const adopt = config["ecrpull:adopt"] as { oidcProviders?: unknown; repositories?: unknown; pullRoles?: unknown } | undefined;
    if (typeof adopt !== "object" || adopt === null) {
        return undefined;
    }
    const settings = new Map(
        (Array.isArray(config["ecrpull:repositories"]) ? (config["ecrpull:repositories"] as RepositorySpec[]) : []).map((r) => [r?.name, r]),
    );
    // `<name>@<region>`: a replica, with that region's key.
    const repository = (entry: string) => {
        const [name, region] = entry.split("@");
        const spec = withRepositoryDefaults(settings.get(name) ?? { name });
        const key = region === undefined ? spec.kmsKeyArn : spec.replicaKmsKeyArns?.[region];
        return { encryptionType: key ? "KMS" : "AES256", kmsKey: key, imageTagMutability: spec.imageTagMutability };
    };
    return {
        oidcProviderArns: strings(adopt.oidcProviders).map((item) =>
            item.startsWith("arn:") ? item : `arn:${partition}:iam::${accountId}:oidc-provider/${(issuerOfCluster[item] ?? item).replace(/^https:\/\//, "")}`,
        ),
        repositories: Object.fromEntries(strings(adopt.repositories).map((name) => [name, repository(name)])),
        roles: Object.fromEntries(strings(adopt.pullRoles).map((key) => [`${PULL_ROLE_NAME_PREFIX}${key}`, { path: "/", assumeRolePolicy: "" }])),
    };
}
