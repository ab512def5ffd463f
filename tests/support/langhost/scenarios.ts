/**
 * The stacks the language-host tests run, from the example stack files, and
 * their runs, memoized: both test files (langhost.test.ts and
 * langhost-findings.test.ts) ask for the same runs, and each spawn of the
 * program costs two to four seconds, so each is made once per mocha process.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ProgramRun, runProgram } from "../../../tools/engine/mock-engine";
import { main } from "../../../stacks/program";
import { DependencyRegistration } from "./dependencies";
import { cliConfig, LanghostRun, ROOT, runLanghost } from "./run";
import { WorldFixture, World } from "./world";

export const CLUSTER_ACCOUNT = "444455556666";
export const REGISTRY_ACCOUNT = "111122223333";
export const REGION = "eu-west-1";
/** What Pulumi.ecr.yaml's clusterStacks names. */
export const EKS_STACK = "acme/ecrpull/eks";

export const ADOPTED_CLUSTER = "apps-b";
export const ADOPTED_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0";
export const ADOPTED_NODE_ROLE = `arn:aws:iam::${CLUSTER_ACCOUNT}:role/apps-b-nodes`;

/** The cluster account with an existing cluster, as most users have one: issuer, its IAM OIDC provider, the Pod Identity agent, the node role. */
export const ADOPTED_WORLD: WorldFixture = {
    [CLUSTER_ACCOUNT]: {
        roles: ["apps-b-nodes"],
        oidcProviders: [ADOPTED_ISSUER],
        clusters: { [ADOPTED_CLUSTER]: { issuerUrl: ADOPTED_ISSUER, addons: ["eks-pod-identity-agent"] } },
    },
};

export function stackFileConfig(file: string): Record<string, unknown> {
    return (yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> }).config;
}

/** Pulumi.eks.yaml's config, the thumbprint left out unless a test needs the fetch. */
export function eksConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...stackFileConfig("Pulumi.eks.yaml"), "ecrpull:oidcThumbprint": "omit", ...overrides };
}

/** Pulumi.eks.yaml's cluster turned into an adopted one. */
export function adoptedClusterConfig(name = ADOPTED_CLUSTER): Record<string, unknown> {
    return eksConfig({ "ecrpull:cluster": { name, create: false, nodeRoleArns: [ADOPTED_NODE_ROLE] } });
}

export function ecrConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...stackFileConfig("Pulumi.ecr.yaml"), ...overrides };
}

const memo = new Map<string, Promise<unknown>>();
function once<T>(key: string, make: () => Promise<T>): Promise<T> {
    if (!memo.has(key)) {
        memo.set(key, make());
    }
    return memo.get(key) as Promise<T>;
}

/** A world per cluster mode, shared by that mode's eks and ecr runs. */
const worlds = { managed: new World(), adopted: new World(ADOPTED_WORLD) };

export type ClusterMode = keyof typeof worlds;

const clusterConfigOf = (mode: ClusterMode) => (mode === "managed" ? eksConfig() : adoptedClusterConfig());

/** The eks program for a new cluster (Pulumi.eks.yaml as it is) or an adopted one. `typeCheck`: ts-node type-checks, as `pulumi` does by default. */
export function eksRun(mode: ClusterMode, run: "preview" | "up", typeCheck = false): Promise<LanghostRun> {
    return once(`eks/${mode}/${run}/${typeCheck}`, () =>
        runLanghost({ stack: "eks", config: clusterConfigOf(mode), mode: run, accountId: CLUSTER_ACCOUNT, region: REGION, world: worlds[mode], typeCheck }),
    );
}

/** The ecr program, the eks up run's outputs behind its StackReference, in the same world. */
export function ecrRun(mode: ClusterMode, run: "preview" | "up"): Promise<LanghostRun> {
    return once(`ecr/${mode}/${run}`, async () => {
        const eks = await eksRun(mode, "up");
        if (eks.exitCode !== 0 || !eks.stackOutputs) {
            throw new Error(`the eks ${mode} up run failed (exit ${eks.exitCode}): ${eks.stderr}`);
        }
        return runLanghost({
            stack: "ecr",
            config: ecrConfig(),
            mode: run,
            accountId: REGISTRY_ACCOUNT,
            region: REGION,
            world: worlds[mode],
            stackReferences: { [EKS_STACK]: eks.stackOutputs },
            // Nothing here takes minutes: a slower clock makes concurrent creates overlap visibly.
            msPerSecond: 10,
        });
    });
}

/** The same program and config on the mock engine (what the fast tests run). */
export function mockEksRun(mode: ClusterMode, run: "preview" | "up"): Promise<ProgramRun<Record<string, unknown>>> {
    return once(
        `mock-eks/${mode}/${run}`,
        () =>
            runProgram(() => main(), {
                stack: "eks",
                config: cliConfig(clusterConfigOf(mode)),
                accountId: CLUSTER_ACCOUNT,
                region: REGION,
                existingClusters: mode === "adopted" ? { [ADOPTED_CLUSTER]: { issuerUrl: ADOPTED_ISSUER, addons: ["eks-pod-identity-agent"] } } : undefined,
                preview: run === "preview",
            }) as Promise<ProgramRun<Record<string, unknown>>>,
    );
}

export function mockEcrRun(mode: ClusterMode, run: "preview" | "up"): Promise<ProgramRun<Record<string, unknown>>> {
    return once(`mock-ecr/${mode}/${run}`, async () => {
        const eks = await mockEksRun(mode, "up");
        return runProgram(() => main(), {
            stack: "ecr",
            config: cliConfig(ecrConfig()),
            accountId: REGISTRY_ACCOUNT,
            region: REGION,
            stackReferences: { [EKS_STACK]: eks.outputs },
            preview: run === "preview",
        }) as Promise<ProgramRun<Record<string, unknown>>>;
    });
}

/** A run's registrations in the form `undeclaredDependencies` takes. */
export function dependencyRegistrations(run: LanghostRun): DependencyRegistration[] {
    return run.registrations.map((r) => ({
        urn: r.urn,
        type: r.type,
        kind: r.kind,
        parent: r.parent,
        dependencies: r.dependencies,
        propertyDependencies: r.propertyDependencies,
        provider: r.provider,
        inputs: r.inputs,
        outputs: r.outputs,
        id: r.id,
    }));
}

/** A short account of a run for failure messages: exit, errors, stderr. */
export function describeRun(run: LanghostRun): string {
    const errors = run.diagnostics.filter((d) => d.severity === "error").map((d) => `  [${d.source}] ${d.urn} ${d.message}`);
    return [`exit ${run.exitCode}`, "errors:", ...errors, "stderr:", run.stderr.slice(0, 4000)].join("\n");
}
