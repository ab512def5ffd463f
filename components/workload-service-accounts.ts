import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { WorkloadExport } from "./contract";
import { validateWorkloads, WorkloadSpec } from "./cluster-spec";
import { partitionOfRegion, pullRoleArn } from "./names";
import { argKey, checkAccountId, checkRegion, Problems } from "./validation";

/** The annotation the EKS Pod Identity webhook reads to inject web-identity credentials. */
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";

export interface WorkloadServiceAccountsArgs {
    /** The registry account that holds the pull roles. */
    readonly registryAccountId: string;
    /** The registry's region, only to tell its partition. */
    readonly registryRegion: string;
    /** The ServiceAccounts to create. */
    readonly workloads: readonly WorkloadSpec[];
    /** Create each workload namespace too. Default false: namespaces usually belong to someone else. */
    readonly createNamespaces?: boolean;
}

/**
 * Kubernetes ServiceAccounts annotated with the registry account's pull role
 * of their grant (IRSA). The role ARN is derived by `pullRoleArn`, the same
 * function the ECR stack names the role with, so this side never has to read
 * the registry's stack.
 *
 * Pass the cluster's Kubernetes provider in `opts.provider`.
 */
export class WorkloadServiceAccounts extends pulumi.ComponentResource {
    /** Every ServiceAccount with the role it was annotated with: the `workloads` stack output. */
    public readonly workloads: WorkloadExport[];
    public readonly serviceAccounts: k8s.core.v1.ServiceAccount[];

    constructor(name: string, args: WorkloadServiceAccountsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:cluster:WorkloadServiceAccounts", name, {}, opts);
        const problems = new Problems(argKey);
        checkAccountId(problems, "registryAccountId", args.registryAccountId);
        checkRegion(problems, "registryRegion", args.registryRegion);
        validateWorkloads(args.workloads, problems);
        problems.throwIfAny(`WorkloadServiceAccounts "${name}"`);

        const partition = partitionOfRegion(args.registryRegion);
        const workloads = [...args.workloads].sort((a, b) =>
            `${a.namespace}/${a.serviceAccount}` < `${b.namespace}/${b.serviceAccount}` ? -1 : 1,
        );
        this.workloads = workloads.map((w) => ({
            namespace: w.namespace,
            serviceAccount: w.serviceAccount,
            grant: w.grant,
            roleArn: pullRoleArn({ partition, registryAccountId: args.registryAccountId, grant: w.grant }),
        }));

        const namespaces = new Map<string, k8s.core.v1.Namespace>();
        if (args.createNamespaces) {
            for (const namespace of new Set(workloads.map((w) => w.namespace))) {
                namespaces.set(
                    namespace,
                    new k8s.core.v1.Namespace(`${name}-${namespace}`, { metadata: { name: namespace } }, { parent: this }),
                );
            }
        }

        this.serviceAccounts = this.workloads.map((w) => {
            const namespace = namespaces.get(w.namespace);
            return new k8s.core.v1.ServiceAccount(
                `${name}-${w.namespace}/${w.serviceAccount}`,
                {
                    metadata: {
                        name: w.serviceAccount,
                        namespace: namespace ? namespace.metadata.name : w.namespace,
                        annotations: { [ROLE_ARN_ANNOTATION]: w.roleArn },
                        labels: {
                            "app.kubernetes.io/managed-by": "pulumi",
                            "ecrpull.dev/grant": w.grant,
                        },
                    },
                },
                { parent: this },
            );
        });
        this.registerOutputs({ workloads: this.workloads });
    }
}
