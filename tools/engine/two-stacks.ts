/**
 * Runs the EKS program for each cluster stack, then the ECR program with
 * those stacks' outputs behind its StackReferences: the order and wiring of
 * `pulumi up` on each stack, in one process on the mock engine.
 */
import { pulumiConfigReader } from "../../stacks/config";
import { ecrProgram, EcrProgramOutputs } from "../../stacks/ecr";
import { eksProgram, EksProgramOutputs } from "../../stacks/eks";
import { ExistingRegistryFixture, FakeCloud } from "./fake-cloud";
import { ExistingClusterFixture, ProgramRun, Resolved, runProgram } from "./mock-engine";

export interface EksStackRun {
    /** Fully qualified name the ECR stack's config refers to (`acme/ecrpull/eks`). */
    readonly name: string;
    readonly config: Readonly<Record<string, unknown>>;
    readonly accountId: string;
    readonly region: string;
    readonly existingClusters?: Readonly<Record<string, ExistingClusterFixture>>;
    /** Subnets `aws.ec2.getSubnet` knows, by ID, and the default VPC. */
    readonly subnets?: FakeCloud["subnets"];
    readonly defaultVpcId?: string;
    readonly fetchThumbprint?: (issuerUrl: string) => Promise<string>;
    /** Provider functions the stack's credentials may not call. */
    readonly deniedInvokes?: readonly string[];
    /** Other IAM roles of the account (an adopted cluster's node roles), with their tags. */
    readonly existingRoles?: FakeCloud["existingRoles"];
}

export interface EcrStackRun {
    readonly config: Readonly<Record<string, unknown>>;
    readonly accountId: string;
    readonly region: string;
    /** What the registry account holds before the stack runs (adopted resources). */
    readonly existingRegistry?: ExistingRegistryFixture;
    /** Provider functions the stack's credentials may not call. */
    readonly deniedInvokes?: readonly string[];
}

export interface TwoStackRun {
    readonly eks: readonly ProgramRun<Resolved<EksProgramOutputs>>[];
    readonly ecr: ProgramRun<Resolved<EcrProgramOutputs>>;
}

export async function runEksStack(stack: EksStackRun, preview = false): Promise<ProgramRun<Resolved<EksProgramOutputs>>> {
    const shortName = stack.name.split("/").pop()!;
    return runProgram(() => eksProgram(pulumiConfigReader(), { fetchThumbprint: stack.fetchThumbprint }), {
        stack: shortName,
        config: stack.config,
        accountId: stack.accountId,
        region: stack.region,
        existingClusters: stack.existingClusters,
        subnets: stack.subnets,
        defaultVpcId: stack.defaultVpcId,
        deniedInvokes: stack.deniedInvokes,
        existingRoles: stack.existingRoles,
        preview,
    });
}

export async function runEcrStack(
    stack: EcrStackRun,
    references: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
    preview = false,
): Promise<ProgramRun<Resolved<EcrProgramOutputs>>> {
    return runProgram(() => ecrProgram(pulumiConfigReader()), {
        stack: "ecr",
        config: stack.config,
        accountId: stack.accountId,
        region: stack.region,
        stackReferences: references,
        existingRegistry: stack.existingRegistry,
        deniedInvokes: stack.deniedInvokes,
        preview,
    });
}

export async function runTwoStacks(eksStacks: readonly EksStackRun[], ecr: EcrStackRun): Promise<TwoStackRun> {
    const eks: ProgramRun<Resolved<EksProgramOutputs>>[] = [];
    for (const stack of eksStacks) {
        eks.push(await runEksStack(stack));
    }
    const references = Object.fromEntries(eksStacks.map((s, i) => [s.name, eks[i].outputs as Record<string, unknown>]));
    return { eks, ecr: await runEcrStack(ecr, references) };
}
