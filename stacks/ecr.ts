/**
 * The registry account's program: reads every EKS stack it serves through a
 * StackReference, checks their outputs and its own config together, then
 * creates the OIDC providers, pull roles and repositories.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkWorkloadsAgainstGrants, EcrStackOutputs, EKS_OUTPUT_KEYS, readEksStackOutputs, ReferencedCluster } from "../components/contract/stack-outputs";
import { partitionOfRegion, pullRoleArnForCluster } from "../components/iam/names";
import { ClusterSpec, GrantSpec } from "../components/registry/spec";
import { RegistryAccess } from "../components/registry/registry-access";
import { adoptionTargetsOfSpec, adoptsAnything, AdoptSpec, NOTHING_ADOPTED, resolveAdopted } from "../components/registry/adopt";
import { checkAdoptedResources, checkReplicationTemplates } from "../components/registry/preflight";
import { registryOwner } from "../components/registry/registry-access";
import { planRegistry } from "../components/registry/plan";
import { validateRegistrySpec } from "../components/registry/spec";
import { configKey, Problems, ValidationError } from "../components/validation";
import { CONFIG_NAMESPACE, ConfigReader, readEcrStackConfig } from "./config";

export type EcrProgramOutputs = { [K in keyof EcrStackOutputs]: pulumi.Input<EcrStackOutputs[K]> };

export async function ecrProgram(config: ConfigReader): Promise<EcrProgramOutputs> {
    const stack = pulumi.getStack();
    const configProblems = new Problems(configKey(CONFIG_NAMESPACE));
    const settings = readEcrStackConfig(config, configProblems);
    const [identity, region] = await Promise.all([aws.getCallerIdentity(), aws.getRegion()]);
    const registryAccountId = identity.accountId;
    const partition = partitionOfRegion(region.region);

    const referenced: ReferencedCluster[] = [];
    const unreadable: string[] = [];
    const referenceProblems: string[] = [];
    // Read every stack at once: each read is a round trip to the engine.
    const allValues = await Promise.all(settings.clusterStacks.map(readStackOutputs));
    for (const [index, stackName] of settings.clusterStacks.entries()) {
        const problems = new Problems((path) => (path ? `stack "${stackName}" output ${path}` : `stack "${stackName}" outputs`));
        const values = allValues[index];
        if (values === "unknown") {
            problems.raw("", "are not known in this preview: preview again once that stack's update has finished, so that its outputs can be checked.");
            unreadable.push(stackName);
            referenceProblems.push(...problems.list);
            continue;
        }
        const cluster = readEksStackOutputs(stackName, values, problems);
        if (cluster) {
            referenced.push(cluster);
        } else {
            unreadable.push(stackName);
        }
        referenceProblems.push(...problems.list);
    }

    const spec = {
        clusters: referenced.map((r) => r.cluster),
        repositories: settings.repositories,
        grants: settings.grants,
        ...(settings.replicaRegions !== undefined ? { replicaRegions: settings.replicaRegions as string[] } : {}),
    };
    // A cluster read from a reference is reported at its place in ecrpull:clusterStacks.
    const clusterLabel = (index: number) => `clusterStacks[${settings.clusterStacks.indexOf(spec.clusters[index]?.name)}]`;
    validateRegistrySpec({ ...spec, region: region.region }, configProblems, clusterLabel, unreadable);
    // Adoption entries are checked against what the registry would create, so only on a sound spec.
    const adopted =
        configProblems.list.length === 0 && unreadable.length === 0
            ? resolveAdopted(settings.adopt, adoptionTargetsOfSpec(spec), registryAccountId, configProblems)
            : NOTHING_ADOPTED;
    // Workloads are checked against grants only once both sides are sound.
    if (configProblems.list.length === 0 && referenceProblems.length === 0) {
        const crossProblems = new Problems((path) => path);
        const roleArnOf = (grant: GrantSpec, cluster: ClusterSpec) =>
            pullRoleArnForCluster({ partition, registryAccountId, grant: grant.name, shards: grant.shards ?? 1, clusterArn: cluster.clusterArn ?? "" });
        checkWorkloadsAgainstGrants(referenced, settings.grants, roleArnOf, crossProblems);
        referenceProblems.push(...crossProblems.list);
    }
    const all = [...configProblems.list, ...referenceProblems];
    if (all.length > 0) {
        throw new ValidationError(`Stack "${stack}" (ECR program)`, all);
    }
    const context = { registryAccountId, region: region.region, partition, limits: settings.limits, nodePullScope: settings.nodePullScope };
    if (adoptsAnything(adopted) || (spec.replicaRegions ?? []).length > 0) {
        // Planned here too (only when adopting or replicating): what to read AWS for first.
        const plan = planRegistry(spec, context);
        const key = (path: string) => configProblems.key(path);
        const [check, templateProblems] = await Promise.all([checkAdoptedResources(adopted, plan, key), checkReplicationTemplates(plan, registryOwner(), key)]);
        if (check.problems.length + templateProblems.length > 0) {
            throw new ValidationError(`Stack "${stack}" (ECR program)`, [...check.problems, ...templateProblems]);
        }
        for (const notice of check.notices) {
            pulumi.log.warn(notice);
        }
    }

    const registry = new RegistryAccess("registry", {
        ...context,
        ...spec,
        tags: Object.keys(settings.tags).length > 0 ? { ...settings.tags } : undefined,
        adopt: settings.adopt as AdoptSpec | undefined,
    });

    return {
        registryAccountId,
        region: region.region,
        repositoryUrls: registry.repositoryUrls,
        replicaRepositoryUrls: registry.replicaRepositoryUrls,
        pullRoleArns: registry.pullRoleArns,
        oidcProviderArns: registry.oidcProviderArns,
    };
}

/**
 * Reads every contract key of an EKS stack. Secret outputs are read as plain
 * values: none of the contract's values is sensitive, and the documents built
 * from them must be readable in previews.
 */
async function readStackOutputs(stackName: string): Promise<Record<string, unknown> | "unknown"> {
    const reference = new pulumi.StackReference(stackName);
    // In a preview, a reference whose outputs are not known yet has no values
    // at all; that is not the same as a stack that lacks them.
    if (!(await (reference.outputs as unknown as { isKnown: Promise<boolean> }).isKnown)) {
        return "unknown";
    }
    // One read of the whole record, not a getOutputDetails per key: each of
    // those builds its own chain of Outputs, and a fleet has a stack per cluster.
    const values = await new Promise<Record<string, unknown>>((resolve) => {
        reference.outputs.apply((outputs) => resolve(outputs ?? {}));
    });
    return Object.fromEntries(EKS_OUTPUT_KEYS.map((key) => [key, values[key]]));
}
