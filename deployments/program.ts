/**
 * Pulumi Deployments for the ecrpull stacks, as code: one `DeploymentSettings`
 * per stack (push to deploy on merge, previews on pull requests, path filters,
 * OIDC into the stack's own AWS account) and one `Webhook` per EKS stack that
 * redeploys the ECR stack after each successful update of that EKS stack.
 *
 * Why a webhook: the ECR stack reads every EKS stack's outputs through
 * StackReferences, so a change in a cluster account (a new workload, a new
 * node role) reaches the registry account only when the ECR stack runs again.
 * `Pulumi.<stack>.deploy.yaml` is gone from the CLI (3.251.0); Pulumi's guide
 * to dependent stack updates uses a `pulumi_deployments` webhook with filter
 * `update_succeeded`, in a stack of its own (docs/aws-facts.md). This is that stack.
 *
 * Everything is checked before any resource is created; every problem is
 * reported at once, naming the key, the bad value and what a good one is.
 */
import * as pulumi from "@pulumi/pulumi";
import * as service from "@pulumi/pulumiservice";
import { asArray, asRecord, checkKnownKeys, checkRoleArn, checkUnique, configKey, Problems, stringField } from "../components/validation";

/** The config namespace: this program's project name in `deployments/Pulumi.yaml`. */
export const DEPLOYMENTS_NAMESPACE = "ecrpull-deployments";

/**
 * What each stack's program depends on, relative to the project directory: a
 * change to any of these can change what `pulumi up` does. Each stack also
 * gets its own `Pulumi.<stack>.yaml`, and no other stack's file, so editing
 * one cluster's config deploys that cluster only (and the ECR stack after
 * it, through the webhook).
 */
export const DEFAULT_PATHS: readonly string[] = ["components/**", "stacks/**", "Pulumi.yaml", "package.json", "package-lock.json", "tsconfig.json"];

/**
 * A role's maximum session is one hour unless raised, and STS refuses a
 * longer request; an hour covers an EKS cluster create (15 to 20 minutes).
 */
export const DEFAULT_SESSION_DURATION = "1h0m0s";

/** One stack Deployments runs, and the role it assumes in that stack's AWS account. */
export interface DeployedStack {
    /** The stack's name inside the project (`eks`, `ecr`), as in `Pulumi.<name>.yaml`. */
    readonly name: string;
    /** The IAM role Pulumi Deployments assumes with OIDC in the stack's account. */
    readonly roleArn: string;
}

/** The validated settings of the deployments stack. */
export interface DeploymentsConfig {
    /** The Pulumi Cloud organization that owns the stacks. */
    readonly organization: string;
    /** The project of the deployed stacks. Default `ecrpull`. */
    readonly project: string;
    /** The GitHub repository, `owner/repo`. */
    readonly repository: string;
    /** The branch merges deploy from. Default `main`. */
    readonly branch: string;
    /** The project directory inside the repository, without a trailing slash; empty for the root. Default empty. */
    readonly repoDir: string;
    /** Path filters every stack shares, relative to `repoDir`. Default `DEFAULT_PATHS`. */
    readonly paths: readonly string[];
    /** How long each deployment's AWS session lasts, `XhYmZs`. Default `DEFAULT_SESSION_DURATION`. */
    readonly sessionDuration: string;
    /** The registry-account stack. */
    readonly ecrStack: DeployedStack;
    /** The cluster-account stacks the ECR stack reads, at least one. */
    readonly eksStacks: readonly DeployedStack[];
}

export const DEPLOYMENTS_KEYS = ["organization", "project", "repository", "branch", "repoDir", "paths", "sessionDuration", "ecrStack", "eksStacks"] as const;

/** Pulumi organization, project and stack names: letters, digits, '-', '_' and '.'. */
const PULUMI_NAME = /^[A-Za-z0-9_.-]+$/;
/** GitHub: an owner is 1 to 39 letters, digits or single '-'; a repository name letters, digits, '-', '_', '.'. */
const GITHUB_REPOSITORY = /^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}\/[A-Za-z0-9_.-]{1,100}$/;
/** A git branch name, as `git check-ref-format --branch` accepts the common ones. */
const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]+(?<![/.])(?<!\.lock)$/;
/** A directory inside the repository: plain segments, no `..`, no leading '/'. */
const REPO_DIR = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*)(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
/** A GitHub path filter: a glob relative to the project directory. */
const PATH_FILTER = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[^\s]+$/;
/** Deployments' session duration format. */
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** STS AssumeRoleWithWebIdentity: 15 minutes to 12 hours (the role's maximum session must allow it). */
const MIN_SESSION_SECONDS = 15 * 60;
const MAX_SESSION_SECONDS = 12 * 3600;

function durationSeconds(text: string): number | undefined {
    const match = DURATION.exec(text);
    if (!match || text === "") {
        return undefined;
    }
    const [, h, m, s] = match;
    return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}

function checkPulumiName(problems: Problems, path: string, value: unknown, what: string, example: string): void {
    if (typeof value !== "string" || !PULUMI_NAME.test(value)) {
        problems.add(path, value, `is not a Pulumi ${what} name: use letters, digits, '-', '_' and '.' (e.g. "${example}").`);
    }
}

function checkStack(problems: Problems, path: string, value: unknown, example: string): void {
    const record = asRecord(problems, path, value, "name and roleArn");
    if (!record) {
        return;
    }
    checkKnownKeys(problems, path, record, ["name", "roleArn"]);
    if (record.name === undefined) {
        problems.missing(`${path}.name`, `set it to the stack's name in the project (e.g. "${example}").`);
    } else {
        checkPulumiName(problems, `${path}.name`, record.name, "stack", example);
    }
    if (record.roleArn === undefined) {
        problems.missing(
            `${path}.roleArn`,
            'set it to the role Pulumi Deployments assumes in the stack\'s account (e.g. "arn:aws:iam::111122223333:role/pulumi-deployments").',
        );
    } else {
        checkRoleArn(problems, `${path}.roleArn`, record.roleArn);
    }
}

/**
 * Checks the deployments stack's config (keys without the namespace) and
 * fills in the defaults. Throws one `ValidationError` listing every problem.
 */
export function readDeploymentsConfig(values: Readonly<Record<string, unknown>>, stack = "deployments"): DeploymentsConfig {
    const problems = new Problems(configKey(DEPLOYMENTS_NAMESPACE));
    checkKnownKeys(problems, "", values as Record<string, unknown>, DEPLOYMENTS_KEYS);

    const organization = values.organization;
    if (organization === undefined) {
        problems.missing("organization", 'set it to the Pulumi Cloud organization that owns the stacks (e.g. "acme").');
    } else {
        checkPulumiName(problems, "organization", organization, "organization", "acme");
    }
    const project = values.project ?? "ecrpull";
    checkPulumiName(problems, "project", project, "project", "ecrpull");

    const repository = values.repository;
    if (repository === undefined) {
        problems.missing("repository", 'set it to the GitHub repository that holds the project, as "owner/repo" (e.g. "acme/platform-ecr").');
    } else if (typeof repository !== "string" || !GITHUB_REPOSITORY.test(repository)) {
        problems.add("repository", repository, 'is not a GitHub repository: use "owner/repo" (e.g. "acme/platform-ecr").');
    }
    const branch = values.branch ?? "main";
    if (typeof branch !== "string" || !BRANCH.test(branch)) {
        problems.add("branch", branch, 'is not a git branch name: use the branch merges land on, without "refs/heads/" (e.g. "main").');
    }
    // "." and "" both mean the repository root; a trailing slash is forgiven.
    const rawRepoDir = values.repoDir ?? "";
    const repoDir = typeof rawRepoDir === "string" ? rawRepoDir.replace(/\/+$/, "").replace(/^\.$/, "") : rawRepoDir;
    if (typeof repoDir !== "string" || (repoDir !== "" && !REPO_DIR.test(repoDir))) {
        problems.add(
            "repoDir",
            rawRepoDir,
            'is not a directory inside the repository: use a relative path without ".." (e.g. "infra/ecrpull"), or "." for the root.',
        );
    }

    const paths = values.paths ?? DEFAULT_PATHS;
    const pathList = asArray(problems, "paths", paths, 'path filters relative to the project directory (e.g. "components/**")');
    if (pathList) {
        if (pathList.length === 0) {
            problems.add("paths", paths, "is empty: list at least one path filter, or leave the key out for the defaults.");
        }
        pathList.forEach((p, i) => {
            if (typeof p !== "string" || !PATH_FILTER.test(p)) {
                problems.add(
                    `paths[${i}]`,
                    p,
                    'is not a path filter: use a glob relative to the project directory, without a leading \'/\' or ".." (e.g. "components/**").',
                );
            }
        });
    }

    const sessionDuration = values.sessionDuration ?? DEFAULT_SESSION_DURATION;
    const seconds = typeof sessionDuration === "string" ? durationSeconds(sessionDuration) : undefined;
    if (seconds === undefined || seconds < MIN_SESSION_SECONDS || seconds > MAX_SESSION_SECONDS) {
        problems.add(
            "sessionDuration",
            sessionDuration,
            'is not a session duration from 15 minutes to 12 hours: use hours, minutes and seconds as "2h0m0s" (e.g. "1h30m0s").',
        );
    }

    if (values.ecrStack === undefined) {
        problems.missing("ecrStack", "set { name, roleArn } of the registry-account stack (e.g. name: ecr).");
    } else {
        checkStack(problems, "ecrStack", values.ecrStack, "ecr");
    }
    const eksStacks = asArray(problems, "eksStacks", values.eksStacks, "{ name, roleArn } of each cluster-account stack");
    if (eksStacks) {
        if (eksStacks.length === 0) {
            problems.raw("eksStacks", "is empty: list every cluster-account stack the ECR stack reads (e.g. - { name: eks, roleArn: ... }).");
        }
        eksStacks.forEach((s, i) => checkStack(problems, `eksStacks[${i}]`, s, "eks"));
        checkUnique(problems, "eksStacks", eksStacks, (s) => stringField(s, "name"), "stack");
        const ecrName = stringField(values.ecrStack, "name");
        eksStacks.forEach((s, i) => {
            if (ecrName !== undefined && stringField(s, "name") === ecrName) {
                problems.add(
                    `eksStacks[${i}].name`,
                    ecrName,
                    `is also ${problems.key("ecrStack.name")}: the ECR stack and the EKS stacks are different stacks.`,
                );
            }
        });
    }
    problems.throwIfAny(`Stack "${stack}" (deployments program)`);

    const stackOf = (s: unknown): DeployedStack => ({ name: stringField(s, "name")!, roleArn: stringField(s, "roleArn")! });
    return {
        organization: organization as string,
        project: project as string,
        repository: repository as string,
        branch: branch as string,
        repoDir: repoDir as string,
        paths: [...new Set(pathList as string[])],
        sessionDuration: sessionDuration as string,
        ecrStack: stackOf(values.ecrStack),
        eksStacks: eksStacks!.map(stackOf),
    };
}

/**
 * The path filters of one stack, relative to the repository root (GitHub
 * matches them there, not in the project directory): the shared ones and
 * the stack's own config file.
 */
export function stackPaths(config: DeploymentsConfig, stack: string): string[] {
    const prefix = config.repoDir === "" ? "" : `${config.repoDir}/`;
    return [...new Set([...config.paths, `Pulumi.${stack}.yaml`])].map((p) => `${prefix}${p}`);
}

/** What the deployments stack exports: which stack deploys on which paths, and which webhooks chain them. */
export interface DeploymentsOutputs {
    readonly settings: pulumi.Output<Record<string, { readonly roleArn: string; readonly paths: readonly string[] }>>;
    readonly webhooks: pulumi.Output<readonly { readonly on: string; readonly redeploys: string }[]>;
}

/** Creates the settings and webhooks from a validated config. */
export function deploymentsProgram(config: DeploymentsConfig): DeploymentsOutputs {
    const settingsFor = (stack: DeployedStack): service.DeploymentSettings =>
        new service.DeploymentSettings(`${stack.name}-settings`, {
            organization: config.organization,
            project: config.project,
            stack: stack.name,
            sourceContext: { git: { branch: config.branch, repoDir: config.repoDir === "" ? undefined : config.repoDir } },
            github: {
                repository: config.repository,
                deployCommits: true,
                previewPullRequests: true,
                paths: stackPaths(config, stack.name),
            },
            operationContext: {
                oidc: {
                    aws: {
                        roleARN: stack.roleArn,
                        // Shows in the account's CloudTrail: who assumed the role, for which stack.
                        sessionName: `pulumi-deployments-${stack.name}`.slice(0, 64),
                        duration: config.sessionDuration,
                    },
                },
                options: {
                    // Several EKS stacks finishing in a row each queue an ECR update;
                    // only the newest one needs to run, and it sees all their outputs.
                    skipIntermediateDeployments: true,
                },
            },
        });

    const ecrSettings = settingsFor(config.ecrStack);
    for (const stack of config.eksStacks) {
        settingsFor(stack);
    }
    const ecrTarget = `${config.project}/${config.ecrStack.name}`;
    for (const stack of config.eksStacks) {
        new service.Webhook(
            `${stack.name}-redeploys-${config.ecrStack.name}`,
            {
                organizationName: config.organization,
                projectName: config.project,
                stackName: stack.name,
                displayName: `Redeploy ${ecrTarget} after ${config.project}/${stack.name} succeeds`,
                format: service.WebhookFormat.PulumiDeployments,
                payloadUrl: ecrTarget,
                filters: [service.WebhookFilters.UpdateSucceeded],
                active: true,
            },
            // The webhook starts a deployment of the ECR stack: its settings must exist first.
            { dependsOn: [ecrSettings] },
        );
    }

    const all = [config.ecrStack, ...config.eksStacks];
    return {
        settings: pulumi.output(Object.fromEntries(all.map((s) => [s.name, { roleArn: s.roleArn, paths: stackPaths(config, s.name) }]))),
        webhooks: pulumi.output(config.eksStacks.map((s) => ({ on: `${config.project}/${s.name}`, redeploys: ecrTarget }))),
    };
}

/** The stack's config in the program's namespace, structured values parsed as the CLI hands them over (JSON text). */
export function pulumiDeploymentsConfig(): Record<string, unknown> {
    const prefix = `${DEPLOYMENTS_NAMESPACE}:`;
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) {
            continue;
        }
        let value: unknown = text;
        if (/^\s*[[{]/.test(text)) {
            try {
                value = JSON.parse(text);
            } catch {
                value = text;
            }
        }
        values[key.slice(prefix.length)] = value;
    }
    return values;
}

/** The program's entry point: read, check, then create. */
export function main(): DeploymentsOutputs {
    return deploymentsProgram(readDeploymentsConfig(pulumiDeploymentsConfig(), pulumi.getStack()));
}
