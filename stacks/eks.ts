/**
 * The cluster account's program: creates or adopts the EKS cluster, creates
 * the workloads' ServiceAccounts annotated with their registry pull roles, and
 * exports the wire contract the ECR stack reads.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSource } from "../components/cluster-source";
import { CONTRACT_VERSION, EksStackOutputs } from "../components/contract";
import { ExistingCluster } from "../components/existing-cluster";
import { ManagedCluster } from "../components/managed-cluster";
import { partitionOfRegion } from "../components/names";
import { fetchOidcThumbprint } from "../components/thumbprint";
import { ClusterPullAccess } from "../components/cluster-pull-access";
import { ConfigReader, readEksStackConfig } from "./config";

export type EksProgramOutputs = { [K in keyof EksStackOutputs]: pulumi.Input<EksStackOutputs[K]> };

export interface EksProgramOptions {
    /** How the issuer's thumbprint is fetched. Default: over TLS from the issuer host (`fetchOidcThumbprint`). */
    readonly fetchThumbprint?: (issuerUrl: string) => Promise<string>;
}

export async function eksProgram(config: ConfigReader, options: EksProgramOptions = {}): Promise<EksProgramOutputs> {
    const fetchThumbprint = options.fetchThumbprint ?? ((url: string) => fetchOidcThumbprint(url));
    const settings = readEksStackConfig(config, pulumi.getStack());
    const [identity, region] = await Promise.all([aws.getCallerIdentity(), aws.getRegion()]);
    const regionName = region.region;

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
          })
        : new ExistingCluster("cluster", {
              clusterName: settings.cluster.name,
              region: regionName,
              nodeRoleArns: settings.cluster.nodeRoleArns,
          });

    const access = new ClusterPullAccess(
        "workloads",
        {
            registryAccountId: settings.registryAccountId,
            clusterAccountId: identity.accountId,
            region: regionName,
            clusterName: settings.cluster.name,
            oidcIssuerUrl: cluster.oidcIssuerUrl,
            workloads: settings.workloads,
            createNamespaces: settings.createNamespaces,
            // A cluster created here has its IAM OIDC provider (createOidcProvider) and gets the agent installed.
            clusterOidcProvider: settings.cluster.create ? "managed" : settings.cluster.oidcProvider,
            podIdentityAgent: settings.cluster.create ? "install" : settings.cluster.podIdentityAgent,
        },
        { providers: { kubernetes: cluster.kubernetesProvider } },
    );

    // Fetched on every run, so a rotated issuer CA is picked up; "" when the
    // stack is told to leave it out (IAM then verifies the chain itself).
    const oidcThumbprint = settings.oidcThumbprint === "omit" ? "" : cluster.oidcIssuerUrl.apply(fetchThumbprint);

    return {
        contractVersion: CONTRACT_VERSION,
        oidcIssuerUrl: cluster.oidcIssuerUrl,
        oidcThumbprint,
        accountId: identity.accountId,
        region: regionName,
        clusterName: cluster.clusterName,
        clusterArn: access.clusterArn,
        nodeRoleArns: cluster.nodeRoleArns,
        workloads: access.workloads,
    };
}
