/**
 * A process on an EKS node, outside any pod: where the kubelet pulls a pod's
 * image from. The kubelet asks its image credential provider
 * (ecr-credential-provider, a Go program on the AWS SDK for Go v2) for a
 * registry token, and that provider's default credential chain ends at the
 * instance's Instance Metadata Service, which hands out the node role's EC2
 * credentials. So the process here has no pod environment at all: no
 * AWS_ROLE_ARN, no web identity token file, no container credentials
 * variables, no AWS config file, nothing mounted; run.ts adds HOME, PATH and
 * the test CA as for every run, and makes the instance's IMDS reachable at
 * 169.254.169.254. Whatever credentials a client finds, it found there.
 *
 * A test may add files and variables on purpose (`extra`, say why): an AWS
 * config profile that assumes another role from the instance's credentials,
 * say. The region is `extra` too: the kubelet's credential provider takes
 * it from the image's registry host name and passes it in code, which a
 * client run here can only be given in its environment.
 */
import { WorldCluster, WorldInstance } from "../aws/world";
import { Sandbox } from "./run";
import { PodFile } from "./types";

export interface NodeDeclaration {
    readonly kind: "node";
    /** The cluster whose node it is. */
    readonly cluster: WorldCluster;
    /** The instance (its instance profile's role, its VPC and address). */
    readonly instance: WorldInstance;
    /** What a test adds to the bare node process, and why. */
    readonly extra?: { readonly env?: Readonly<Record<string, string>>; readonly files?: readonly PodFile[]; readonly why: string };
}

export interface EmulatedNode extends Sandbox {
    readonly kind: "node";
    readonly cluster: WorldCluster;
    readonly instance: WorldInstance;
}

export function isNodeDeclaration(declaration: object): declaration is NodeDeclaration {
    return (declaration as { kind?: unknown }).kind === "node";
}

/** The process as it runs: nothing but what `extra` adds. */
export function emulateNode(declaration: NodeDeclaration): EmulatedNode {
    return {
        kind: "node",
        name: `node-${declaration.instance.instanceId}`,
        cluster: declaration.cluster,
        instance: declaration.instance,
        env: Object.entries(declaration.extra?.env ?? {}),
        files: [...(declaration.extra?.files ?? [])],
    };
}
