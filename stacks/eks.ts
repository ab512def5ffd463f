/**
 * The cluster account's program: creates or adopts the EKS cluster, creates
 * the workloads' ServiceAccounts and the cluster-account side of each access
 * path, and exports the wire contract the ECR stack reads.
 *
 * Everything that can be known before `pulumi up` creates anything is
 * checked first, and every problem reported at once: the config, the size of
 * every document this account gets, what AWS already has (an adopted cluster,
 * its IAM OIDC provider and add-on, a new cluster's subnets) and the issuer's
 * thumbprint. Only then is the first resource registered.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    ClusterIdentity,
    clusterDocumentSizes,
    eksIssuerStandIn,
    nodePullTags,
    oversizedClusterDocuments,
    planClusterAccess,
} from "../components/cluster/plan";
import { checkClusterObjects, checkNodePullTags, checkSubnets, readAdoptedCluster } from "../components/cluster/preflight";
import { ClusterPullAccess, ownerTagValue } from "../components/cluster/cluster-pull-access";
import { ClusterSource } from "../components/cluster/source";
import { CONTRACT_VERSION, EksStackOutputs } from "../components/contract/stack-outputs";
import { ExistingCluster } from "../components/cluster/existing-cluster";
import { ManagedCluster } from "../components/cluster/managed-cluster";
import { partitionOfRegion } from "../components/iam/names";
import { WorkloadPodSettings } from "../components/cluster/pod-settings";
import { DEFAULT_LIMITS } from "../components/iam/quotas";
import { fetchOidcThumbprint } from "../components/cluster/thumbprint";
import { ValidationError } from "../components/validation";
import { CONFIG_NAMESPACE, ConfigReader, readEksStackConfig } from "./config";

export type EksProgramOutputs = { [K in keyof EksStackOutputs]: pulumi.Input<EksStackOutputs[K]> } & {
    /** What a pod of each workload needs, by `<namespace>/<serviceAccount>` (not part of the contract: the ECR stack does not read it). */
    readonly podSpecs: pulumi.Input<Record<string, WorkloadPodSettings>>;
    /**
     * The organization-scoped grants whose node-pull tags the node roles carry
     * (created here, or checked on adopted ones): for the access report and the
     * audit, not part of the contract.
     */
    readonly nodePullGrants: pulumi.Input<string[]>;
};

export interface EksProgramOptions {
    /** How the issuer's thumbprint is fetched. Default: over TLS from the issuer host (`fetchOidcThumbprint`). */
    readonly fetchThumbprint?: (issuerUrl: string) => Promise<string>;
}

export async function eksProgram(config: ConfigReader, options: EksProgramOptions = {}): Promise<EksProgramOutputs> {
    const fetchThumbprint = options.fetchThumbprint ?? ((url: string) => fetchOidcThumbprint(url));
    const stack = pulumi.getStack();
    const subject = `Stack "${stack}" (EKS program)`;
    const settings = readEksStackConfig(config, stack);
    for (const notice of settings.notices) {
        pulumi.log.warn(notice);
    }
    const [identity, region] = await Promise.all([aws.getCallerIdentity(), aws.getRegion()]);
    const regionName = region.region;
    const key = (path: string) => `${CONFIG_NAMESPACE}:${path}`;

    // ---- What exists, and whether it can be deployed: nothing is registered yet.
    const problems: string[] = [];
    const adopted = settings.cluster.create ? undefined : await readAdoptedCluster(settings.cluster.name, regionName);
    if (adopted && "problem" in adopted) {
        throw new ValidationError(subject, [adopted.problem]);
    }
    const clusterIdentity: ClusterIdentity = {
        registryAccountId: settings.registryAccountId,
        clusterAccountId: identity.accountId,
        region: regionName,
        clusterName: settings.cluster.name,
    };
    const plan = planClusterAccess(settings.workloads, clusterIdentity, settings.orgScopedGrants);
    const nodeRoleTags = nodePullTags(settings.nodePullGrants);
    // A new cluster's issuer is not known yet; every EKS issuer of the region has the same length.
    const issuerForChecks = adopted?.issuerUrl ?? eksIssuerStandIn(regionName);
    const limits = { trustPolicy: DEFAULT_LIMITS.trustPolicy, rolePolicy: DEFAULT_LIMITS.rolePolicy, ...settings.limits };
    problems.push(...oversizedClusterDocuments(clusterDocumentSizes(plan, clusterIdentity, issuerForChecks, limits)));
    const usesPath = (path: string) => plan.clusterRoles.some((r) => r.path === path);
    if (adopted) {
        const objects = await checkClusterObjects({
            clusterName: settings.cluster.name,
            issuerUrl: adopted.issuerUrl,
            oidcProvider: usesPath("chaining") ? settings.cluster.oidcProvider : undefined,
            podIdentityAgent: usesPath("podIdentity") ? settings.cluster.podIdentityAgent : undefined,
            owner: ownerTagValue(),
        });
        problems.push(...objects);
        problems.push(...(await checkNodePullTags(key("cluster.nodeRoleArns"), settings.cluster.nodeRoleArns, nodeRoleTags)));
    } else if (settings.cluster.subnetIds) {
        problems.push(...(await checkSubnets(key("cluster.subnetIds"), settings.cluster.vpcId, settings.cluster.subnetIds)));
    }
    // The thumbprint is the issuer host's top CA: for a new cluster, the
    // region's EKS issuer host is known before the cluster is, and the same.
    let oidcThumbprint = "";
    if (settings.oidcThumbprint === "fetch") {
        const issuerHost = adopted?.issuerUrl ?? `https://oidc.eks.${regionName}.amazonaws.com`;
        try {
            oidcThumbprint = await fetchThumbprint(issuerHost);
        } catch (error) {
            problems.push(
                `${key("oidcThumbprint")} "fetch": ${error instanceof Error ? error.message : String(error)} Or set ${key("oidcThumbprint")} to "omit": IAM verifies EKS issuers against the CAs it trusts and ignores the thumbprint.`,
            );
        }
    }
    if (problems.length > 0) {
        throw new ValidationError(subject, problems);
    }

    // ---- Resources.
    const cluster: ClusterSource = settings.cluster.create
        ? new ManagedCluster("cluster", {
              clusterName: settings.cluster.name,
              version: settings.cluster.version,
              instanceType: settings.cluster.instanceType,
              desiredCapacity: settings.cluster.desiredCapacity,
              minSize: settings.cluster.minSize,
              maxSize: settings.cluster.maxSize,
              vpcId: settings.cluster.vpcId,
              subnetIds: settings.cluster.subnetIds ? [...settings.cluster.subnetIds] : undefined,
              partition: partitionOfRegion(regionName),
              nodeRoleTags,
          })
        : new ExistingCluster("cluster", {
              clusterName: settings.cluster.name,
              region: regionName,
              nodeRoleArns: settings.cluster.nodeRoleArns,
          });

    const access = new ClusterPullAccess(
        "workloads",
        {
            ...clusterIdentity,
            oidcIssuerUrl: cluster.oidcIssuerUrl,
            workloads: settings.workloads,
            createNamespaces: settings.createNamespaces,
            // A cluster created here has its IAM OIDC provider (createOidcProvider) and gets the agent installed.
            clusterOidcProvider: settings.cluster.create ? "managed" : settings.cluster.oidcProvider,
            podIdentityAgent: settings.cluster.create ? "install" : settings.cluster.podIdentityAgent,
            limits: settings.limits,
            orgScopedGrants: [...settings.orgScopedGrants],
        },
        { providers: { kubernetes: cluster.kubernetesProvider } },
    );

    return {
        contractVersion: CONTRACT_VERSION,
        oidcIssuerUrl: cluster.oidcIssuerUrl,
        oidcThumbprint,
        accountId: identity.accountId,
        region: regionName,
        // Config, known in every preview: the ECR stack reads it by name.
        clusterName: settings.cluster.name,
        clusterArn: access.clusterArn,
        nodeRoleArns: cluster.nodeRoleArns,
        workloads: access.workloads,
        podSpecs: access.podSpecs,
        nodePullGrants: [...settings.nodePullGrants],
    };
}
