/**
 * How a workload's pod is set up for each access path, and the fleet the
 * real-clients tests run in.
 *
 * `podSetupFor(path, world, workload)` is the one place that says what a
 * user puts in a pod for a path: the pod settings the EKS stack exports. The denial scenarios are
 * derived from its answer (`asServiceAccount`, `withTokensFrom`…), so they
 * follow any new setup: an outsider copies whatever the granted pod has.
 *
 * The chaining setup of release 0.2 is a self-contained fixture
 * (`chainingSetupRelease02`): it must keep reproducing 0.2's pods after the
 * redesign, as the regression test of the Go client ending as the IRSA role.
 */
import { applyPodSettings, PodSpecLike, WorkloadPodSettings } from "../../components/cluster/pod-settings";
import { EcrStackRun, EksStackRun, runTwoStacks } from "../../tools/engine/two-stacks";
import { KubeConfigMap, KubeServiceAccount, World, WorldAssociation, WorldCluster, clusterNamed, workloadExport, worldFromTwoStacks } from "./aws/world";
import { ACCOUNT_B, clusterA, clusterB, GRANTS, REGION, registry, REGISTRY_ACCOUNT, STACK_A, STACK_B } from "./fixtures";
import { PodDeclaration } from "./pod/kubelet";
import { Container, Pod, Volume } from "./pod/types";

export type AccessPath = "federation" | "chaining" | "podIdentity";

export interface Workload {
    readonly cluster: string;
    readonly namespace: string;
    readonly serviceAccount: string;
}

// ---- the fleet -------------------------------------------------------------------------

/**
 * A third cluster, adopted in account B, that no grant of the three paths
 * names: the source of "another cluster's token". It has a federated grant of
 * its own ("tools"), so the registry account holds an IAM OIDC provider for
 * its issuer and a token from it reaches the pull roles' trust evaluation.
 */
export const STACK_C = "acme/ecrpull/eks-c";
export const ISSUER_C = "https://oidc.eks.eu-west-1.amazonaws.com/id/C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0";

export function clusterC(): EksStackRun {
    return {
        name: STACK_C,
        accountId: ACCOUNT_B,
        region: REGION,
        existingClusters: { "apps-c": { issuerUrl: ISSUER_C, addons: ["eks-pod-identity-agent"] } },
        config: {
            "ecrpull:registryAccountId": REGISTRY_ACCOUNT,
            "ecrpull:cluster": { name: "apps-c", create: false, nodeRoleArns: [`arn:aws:iam::${ACCOUNT_B}:role/apps-c-nodes`] },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": [{ namespace: "tools", serviceAccount: "scanner", grant: "tools" }],
        },
    };
}

export function registryWithC(): EcrStackRun {
    return registry({
        "ecrpull:clusterStacks": [STACK_A, STACK_B, STACK_C],
        "ecrpull:grants": [
            ...GRANTS,
            { name: "tools", clusters: [STACK_C], serviceAccounts: [{ namespace: "tools", name: "scanner" }], repositories: ["archive/legacy"] },
        ],
    });
}

/** Runs the package's two programs for clusters A, B and C and the registry, and builds the World from the runs. */
export async function realClientsWorld(): Promise<World> {
    const stacks = [clusterA(), clusterB(), clusterC()];
    const ecr = registryWithC();
    const run = await runTwoStacks(stacks, ecr);
    return worldFromTwoStacks(run, stacks, ecr);
}

/** The grant, granted repository, one outside the grant, per path, as the fixtures define them. */
export const PATH_WORKLOADS: Readonly<
    Record<AccessPath, { readonly workload: Workload; readonly grant: string; readonly granted: string; readonly outside: string }>
> = {
    federation: {
        workload: { cluster: "apps-a", namespace: "ci", serviceAccount: "image-builder" },
        grant: "ci-builders",
        granted: "platform/base",
        outside: "payments/api",
    },
    chaining: {
        workload: { cluster: "apps-a", namespace: "payments", serviceAccount: "deployer" },
        grant: "payments",
        granted: "payments/api",
        outside: "ml/models",
    },
    podIdentity: { workload: { cluster: "apps-a", namespace: "ml", serviceAccount: "trainer" }, grant: "ml", granted: "ml/models", outside: "platform/base" },
};

// ---- pod setups ------------------------------------------------------------------------

const clusterObjects = (world: World, cluster: WorldCluster) => {
    const kube = world.kube.get(cluster.arn);
    if (!kube) {
        throw new Error(`pod setups: no Kubernetes objects recorded for ${cluster.name}`);
    }
    return kube;
};

const associationsOf = (world: World, cluster: WorldCluster) => world.associations.filter((a) => a.clusterArn === cluster.arn);

function basePod(workload: Workload, name: string, containers: Container[], volumes: Volume[] = []): Pod {
    return { metadata: { name, namespace: workload.namespace }, spec: { serviceAccountName: workload.serviceAccount, containers, volumes } };
}

/**
 * The pod a user writes for a workload of `path`, with the Kubernetes
 * objects the EKS stack created (recorded by the run): a container named
 * "app" running as the workload's ServiceAccount, plus the pod settings the
 * EKS stack exports for it (output `podSpecs`, added with the package's own
 * `applyPodSettings`, as `withPullAccess` adds them): nothing more for
 * federation and Pod Identity, the token, the grant's AWS config and the
 * profile for chaining.
 */
export function podSetupFor(path: AccessPath, world: World, workload: Workload): PodDeclaration {
    const cluster = clusterNamed(world, workload.cluster);
    const kube = clusterObjects(world, cluster);
    const settings = podSettingsOf(world, cluster, workload);
    if (settings.path !== path) {
        throw new Error(`pod setups: ${workload.namespace}/${workload.serviceAccount} is on path ${settings.path}, not ${path}`);
    }
    const spec = applyPodSettings(basePod(workload, `${workload.serviceAccount}-0`, [{ name: "app" }]).spec as PodSpecLike, settings);
    return {
        cluster,
        serviceAccounts: kube.serviceAccounts,
        configMaps: kube.configMaps,
        associations: associationsOf(world, cluster),
        pod: { metadata: { name: `${workload.serviceAccount}-0`, namespace: workload.namespace }, spec: spec as unknown as Pod["spec"] },
    };
}

/** The pod settings the EKS stack of `cluster` exported for the workload (output `podSpecs`). */
export function podSettingsOf(world: World, cluster: WorldCluster, workload: Workload): WorkloadPodSettings {
    const podSpecs = world.eksOutputs.get(cluster.arn)?.podSpecs as Record<string, WorkloadPodSettings> | undefined;
    const settings = podSpecs?.[`${workload.namespace}/${workload.serviceAccount}`];
    if (!settings) {
        throw new Error(`pod setups: the EKS stack of ${cluster.name} exports no podSpecs for ${workload.namespace}/${workload.serviceAccount}`);
    }
    return settings;
}

/**
 * Release 0.2's chaining setup, self-contained (README 0.2, "Using a chained
 * grant in a Pod"; `chainedAwsConfig` of components/cluster-plan.ts at 0.2):
 * - the ServiceAccount annotated `eks.amazonaws.com/role-arn` with the
 *   cluster-account IRSA role (the EKS stack's `workloads[].clusterRoleArn`),
 *   so the IRSA webhook injects AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE;
 * - a ConfigMap `ecr-pull-<grant>` with key `config` holding the profiles
 *   below, mounted at /etc/ecr-pull;
 * - AWS_CONFIG_FILE=/etc/ecr-pull/config and AWS_PROFILE=ecr-pull.
 * The objects are written here from 0.2's text, not taken from today's
 * programs, so that this fixture stays 0.2 whatever the programs become;
 * only the role ARNs come from the run (the stacks' outputs).
 */
export function chainingSetupRelease02(world: World, workload: Workload): PodDeclaration {
    const cluster = clusterNamed(world, workload.cluster);
    const exported = workloadExport(world, cluster, workload.namespace, workload.serviceAccount);
    if (exported.clusterRoleArn === "") {
        throw new Error(`0.2 chaining setup: workload ${workload.namespace}/${workload.serviceAccount} exports no cluster-account role`);
    }
    const configMapName = `ecr-pull-${exported.grant}`;
    const config = [
        `# Grant "${exported.grant}": chain the cluster-account IRSA role into the registry's pull role.`,
        "# Use with AWS_CONFIG_FILE=<mount>/config and AWS_PROFILE=ecr-pull.",
        "[profile ecr-pull-source]",
        `role_arn = ${exported.clusterRoleArn}`,
        "web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        "",
        "[profile ecr-pull]",
        `role_arn = ${exported.roleArn}`,
        "source_profile = ecr-pull-source",
        "",
    ].join("\n");
    const serviceAccount: KubeServiceAccount = {
        metadata: { name: workload.serviceAccount, namespace: workload.namespace, annotations: { "eks.amazonaws.com/role-arn": exported.clusterRoleArn } },
    };
    const configMap: KubeConfigMap = { metadata: { name: configMapName, namespace: workload.namespace }, data: { config } };
    // Literal, not shared with podSetupFor: this is 0.2's pod whatever today's becomes.
    const pod: Pod = {
        metadata: { name: `${workload.serviceAccount}-0`, namespace: workload.namespace },
        spec: {
            serviceAccountName: workload.serviceAccount,
            volumes: [{ name: "ecr-pull-aws-config", configMap: { name: configMapName } }],
            containers: [
                {
                    name: "deployer",
                    env: [
                        { name: "AWS_CONFIG_FILE", value: "/etc/ecr-pull/config" },
                        { name: "AWS_PROFILE", value: "ecr-pull" },
                    ],
                    volumeMounts: [{ name: "ecr-pull-aws-config", mountPath: "/etc/ecr-pull", readOnly: true }],
                },
            ],
        },
    };
    return {
        cluster,
        pod,
        serviceAccounts: [serviceAccount],
        configMaps: [configMap],
        associations: associationsOf(world, cluster),
    };
}

/**
 * The alternative chaining shape (experiment): the ServiceAccount is NOT
 * annotated, so no webhook injects anything; the pod projects a
 * service-account token with audience sts.amazonaws.com itself, at the path
 * the profile's web_identity_token_file names, and selects the profile with
 * AWS_CONFIG_FILE and AWS_PROFILE. `regionInProfile` adds `region = <r>` to
 * the selected profile; `regionEnv` names the region variables the container
 * sets (nothing injects any in this shape).
 */
export function chainingWithoutAnnotation(
    world: World,
    workload: Workload,
    options: { readonly regionInProfile: boolean; readonly regionEnv: readonly ("AWS_REGION" | "AWS_DEFAULT_REGION")[] },
): PodDeclaration {
    const base = chainingSetupRelease02(world, workload);
    const configMap = base.configMaps[0];
    const region = base.cluster.region;
    const config = options.regionInProfile ? configMap.data.config.replace(/(\[profile ecr-pull\]\n)/, `$1region = ${region}\n`) : configMap.data.config;
    const tokenFile = /web_identity_token_file = (.+)/.exec(config)![1];
    const tokenDir = tokenFile.slice(0, tokenFile.lastIndexOf("/"));
    const container = base.pod.spec.containers[0];
    return {
        ...base,
        serviceAccounts: [{ metadata: { name: workload.serviceAccount, namespace: workload.namespace, annotations: {} } }],
        configMaps: [{ ...configMap, data: { config } }],
        pod: {
            ...base.pod,
            spec: {
                ...base.pod.spec,
                volumes: [
                    ...(base.pod.spec.volumes ?? []),
                    {
                        name: "aws-token",
                        projected: {
                            sources: [
                                {
                                    serviceAccountToken: {
                                        audience: "sts.amazonaws.com",
                                        expirationSeconds: 86400,
                                        path: tokenFile.slice(tokenDir.length + 1),
                                    },
                                },
                            ],
                        },
                    },
                ],
                containers: [
                    {
                        ...container,
                        env: [...(container.env ?? []), ...options.regionEnv.map((name) => ({ name, value: region }))],
                        volumeMounts: [...(container.volumeMounts ?? []), { name: "aws-token", mountPath: tokenDir, readOnly: true }],
                    },
                ],
            },
        },
    };
}

// ---- what an outsider can do with a granted setup ------------------------------------------

/**
 * The same pod for another (namespace, service account) of the same cluster,
 * set up by hand exactly like the granted one: its ServiceAccount copies the
 * annotations, the ConfigMaps are copied into its namespace, and for Pod
 * Identity an association with the same role and target role is created by
 * hand (`origin`), so that only the documents can refuse it.
 */
export function asServiceAccount(world: World, setup: PodDeclaration, namespace: string, serviceAccount: string, origin: string): PodDeclaration {
    const original = setup.serviceAccounts.find(
        (s) => s.metadata.namespace === setup.pod.metadata.namespace && s.metadata.name === setup.pod.spec.serviceAccountName,
    );
    const copiedAssociations: WorldAssociation[] = setup.associations
        .filter((a) => a.namespace === setup.pod.metadata.namespace && a.serviceAccount === setup.pod.spec.serviceAccountName)
        .map((a) => ({ ...a, associationId: `${a.associationId}-${namespace}-${serviceAccount}`, namespace, serviceAccount, origin }));
    world.associations.push(...copiedAssociations);
    return {
        ...setup,
        pod: {
            ...setup.pod,
            metadata: { ...setup.pod.metadata, name: `${serviceAccount}-0`, namespace },
            spec: { ...setup.pod.spec, serviceAccountName: serviceAccount },
        },
        serviceAccounts: [
            ...setup.serviceAccounts,
            { metadata: { name: serviceAccount, namespace, annotations: { ...(original?.metadata.annotations ?? {}) } } },
        ],
        configMaps: [
            ...setup.configMaps,
            ...setup.configMaps
                .filter((c) => c.metadata.namespace === setup.pod.metadata.namespace)
                .map((c) => ({ ...c, metadata: { ...c.metadata, namespace } })),
        ],
        associations: [...setup.associations, ...copiedAssociations],
    };
}

/** The same pod whose projected tokens were issued by another cluster (a token taken from there). */
export function withTokensFrom(setup: PodDeclaration, cluster: WorldCluster): PodDeclaration {
    return { ...setup, tokenCluster: cluster };
}

/**
 * The same ServiceAccount on another cluster, with a Pod Identity
 * association made by hand there that reuses the Pod Identity role the
 * package made for a cluster of that account and the grant's target role:
 * the nearest an outsider in that account can get. Undefined when the
 * account has no such role.
 */
export function onClusterWithBorrowedRole(world: World, setup: PodDeclaration, cluster: WorldCluster, origin: string): PodDeclaration | undefined {
    const granted = setup.associations.find((a) => a.namespace === setup.pod.metadata.namespace && a.serviceAccount === setup.pod.spec.serviceAccountName);
    const borrowed = world.associations.find(
        (a) =>
            a.clusterArn !== setup.cluster.arn &&
            a.clusterArn !== cluster.arn &&
            a.roleArn.split(":")[4] === cluster.account &&
            a.targetRoleArn === granted?.targetRoleArn,
    );
    if (!granted || !borrowed) {
        return undefined;
    }
    const association: WorldAssociation = {
        associationId: `${borrowed.associationId}-on-${cluster.name}`,
        clusterArn: cluster.arn,
        namespace: granted.namespace,
        serviceAccount: granted.serviceAccount,
        roleArn: borrowed.roleArn,
        targetRoleArn: granted.targetRoleArn,
        origin,
    };
    world.associations.push(association);
    const kube = clusterObjects(world, cluster);
    const original = setup.serviceAccounts.find(
        (s) => s.metadata.namespace === setup.pod.metadata.namespace && s.metadata.name === setup.pod.spec.serviceAccountName,
    )!;
    return {
        ...setup,
        cluster,
        serviceAccounts: [...kube.serviceAccounts, original],
        configMaps: [...kube.configMaps, ...setup.configMaps],
        associations: [...associationsOf(world, cluster)],
    };
}
