import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * What the cluster side needs from a cluster, whether this program created it
 * (`ManagedCluster`) or adopted it (`ExistingCluster`).
 */
export interface ClusterSource {
    readonly clusterName: pulumi.Output<string>;
    /** `https://oidc.eks.<region>.amazonaws.com/id/<id>` */
    readonly oidcIssuerUrl: pulumi.Output<string>;
    /** Roles of the nodes whose kubelets pull images. */
    readonly nodeRoleArns: pulumi.Output<string[]>;
    /** Talks to the cluster's API server, for the ServiceAccounts. */
    readonly kubernetesProvider: k8s.Provider;
}

/** EKS reports the issuer with `https://`; @pulumi/eks's `oidcIssuer` drops it. One form everywhere. */
export function normalizeIssuerUrl(issuer: string): string {
    const url = issuer.startsWith("https://") ? issuer : `https://${issuer}`;
    return url.replace(/\/+$/, "");
}
