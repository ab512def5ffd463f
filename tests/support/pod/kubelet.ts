/**
 * What the kubelet makes of an admitted Pod for one container: its
 * environment (literal values, `$(VAR)` references expanded, HOSTNAME and the
 * `kubernetes` service variables) and its files:
 * - configMap volumes: one file per key (or per `items` entry);
 * - projected volumes: service-account tokens minted through the TokenRequest
 *   API — RS256 JWTs signed by the cluster's issuer with iss, sub
 *   `system:serviceaccount:<ns>:<sa>`, aud, exp, iat, nbf, jti and the
 *   `kubernetes.io` claims binding them to the pod, node and service
 *   account — configMap entries and downward-API fields;
 * all written with the atomic writer's layout (`<mount>/..<timestamp>/<file>`,
 * `<mount>/..data` → it, `<mount>/<file>` → `..data/<file>`).
 */
import * as crypto from "crypto";
import { KubeConfigMap, KubeServiceAccount, World, WorldAssociation, WorldCluster, WorldInstance } from "../aws/world";
import { signJwt } from "../aws/jwt";
import { admit, eksWebhookConfig, PodRejected } from "./admission";
import { ConfigMapVolumeSource, Pod, PodFile, Volume } from "./types";

/** The audience of a token projected without one: the API server's (EKS: https://kubernetes.default.svc). */
export const API_SERVER_AUDIENCE = "https://kubernetes.default.svc";

/** Everything a test says about a pod. */
export interface PodDeclaration {
    /** The cluster whose node runs the pod (its API server, webhook and Pod Identity agent). */
    readonly cluster: WorldCluster;
    /** The pod as a user would apply it. */
    readonly pod: Pod;
    /** The ServiceAccounts of the cluster (the pod's is looked up by name). */
    readonly serviceAccounts: readonly KubeServiceAccount[];
    /** The ConfigMaps of the cluster. */
    readonly configMaps: readonly KubeConfigMap[];
    /** The cluster's Pod Identity associations (what EKS feeds its webhook). */
    readonly associations: readonly WorldAssociation[];
    /**
     * Test-only: mint the projected tokens with another cluster's issuer (a
     * token taken from another cluster). Default: the pod's cluster.
     */
    readonly tokenCluster?: WorldCluster;
    /**
     * Test-only: the pod can reach this instance's metadata service (a node
     * whose IMDS lets containers through: a hop limit of 2, no network
     * policy). Default: nothing listens at 169.254.169.254 in the pod.
     */
    readonly reachableInstance?: WorldInstance;
}

export interface MintedToken {
    readonly path: string;
    readonly claims: Record<string, unknown>;
}

/** The container as it runs: what a process in it sees. */
export interface EmulatedPod {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly serviceAccount: string;
    readonly cluster: WorldCluster;
    /** The admitted (mutated) pod. */
    readonly admitted: Pod;
    /** Environment of the (first) container, in order. */
    readonly env: readonly (readonly [string, string])[];
    readonly files: readonly PodFile[];
    readonly tokens: readonly MintedToken[];
    /** The instance whose IMDS the pod reaches, when the declaration says so. */
    readonly instance?: WorldInstance;
}

const uuid = () => crypto.randomUUID();

function expand(value: string, env: Map<string, string>): string {
    // Kubernetes: $(VAR) becomes VAR's value when defined earlier; $$ escapes.
    return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name?: string) =>
        match === "$$" ? "$" : name !== undefined && env.has(name) ? env.get(name)! : match,
    );
}

function configMapFiles(source: ConfigMapVolumeSource, namespace: string, configMaps: readonly KubeConfigMap[], volume: string): [string, string][] {
    const map = configMaps.find((c) => c.metadata.namespace === namespace && c.metadata.name === source.name);
    if (!map) {
        throw new PodRejected(`MountVolume.SetUp failed for volume "${volume}" : configmap "${source.name}" not found`);
    }
    if (source.items) {
        return source.items.map((item) => {
            if (!(item.key in map.data)) {
                throw new PodRejected(`MountVolume.SetUp failed for volume "${volume}" : configmap references non-existent config key: ${item.key}`);
            }
            return [item.path, map.data[item.key]];
        });
    }
    return Object.entries(map.data);
}

/** The atomic writer's layout of a volume's files under its mount path. */
function atomicLayout(mountPath: string, entries: readonly [string, string][], mode: number): PodFile[] {
    const stamp = `..${new Date().toISOString().replace(/[-:]/g, "_").replace(/\..*$/, "")}.${crypto.randomInt(1e8, 1e9)}`;
    const files: PodFile[] = entries.map(([path, content]) => ({ path: `${mountPath}/${stamp}/${path}`, content, mode }));
    files.push({ path: `${mountPath}/..data`, symlink: stamp, mode: 0o777 });
    for (const top of new Set(entries.map(([path]) => path.split("/")[0]))) {
        files.push({ path: `${mountPath}/${top}`, symlink: `..data/${top}`, mode: 0o777 });
    }
    return files;
}

/** A projected volume source's entries; tokens are minted with `mint`. */
function volumeEntries(
    volume: Volume,
    pod: Pod,
    configMaps: readonly KubeConfigMap[],
    mint: (audience: string, expirationSeconds: number) => { token: string; claims: Record<string, unknown> },
    minted: MintedToken[],
    mountPath: string,
): [string, string][] {
    if (volume.configMap) {
        return configMapFiles(volume.configMap, pod.metadata.namespace, configMaps, volume.name);
    }
    if (volume.projected) {
        const entries: [string, string][] = [];
        for (const source of volume.projected.sources) {
            if (source.serviceAccountToken) {
                const t = source.serviceAccountToken;
                const expirationSeconds = t.expirationSeconds ?? 3600;
                if (expirationSeconds < 600) {
                    throw new PodRejected(
                        `Pod "${pod.metadata.name}" is invalid: expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`,
                    );
                }
                const { token, claims } = mint(t.audience ?? API_SERVER_AUDIENCE, expirationSeconds);
                entries.push([t.path, token]);
                minted.push({ path: `${mountPath}/${t.path}`, claims });
            } else if (source.configMap) {
                const cm = source.configMap;
                entries.push(
                    ...(cm.name === "kube-root-ca.crt"
                        ? (cm.items ?? [{ key: "ca.crt", path: "ca.crt" }]).map((i) => [i.path, KUBE_ROOT_CA] as [string, string])
                        : configMapFiles(cm, pod.metadata.namespace, configMaps, volume.name)),
                );
            } else if (source.downwardAPI) {
                for (const item of source.downwardAPI.items) {
                    entries.push([item.path, item.fieldRef.fieldPath === "metadata.namespace" ? pod.metadata.namespace : pod.metadata.name]);
                }
            } else {
                throw new Error(`pod emulator: projected source ${JSON.stringify(source)} of volume ${volume.name} is not supported`);
            }
        }
        return entries;
    }
    throw new Error(`pod emulator: volume ${volume.name} has a kind the emulator does not support`);
}

/** A stand-in for the cluster CA the kube-root-ca.crt ConfigMap holds (no client here talks to the API server). */
const KUBE_ROOT_CA = "-----BEGIN CERTIFICATE-----\nMIIB (emulated cluster CA; not used by AWS clients)\n-----END CERTIFICATE-----\n";

/** Admits the pod and lays out its first container as the kubelet would. */
export function emulatePod(world: World, declaration: PodDeclaration): EmulatedPod {
    const { pod, cluster } = declaration;
    const serviceAccount = declaration.serviceAccounts.find(
        (s) => s.metadata.namespace === pod.metadata.namespace && s.metadata.name === pod.spec.serviceAccountName,
    );
    const admitted = admit(pod, serviceAccount, declaration.associations, eksWebhookConfig(cluster));
    const uid = uuid();
    const saUid = crypto.createHash("sha256").update(`${cluster.arn}/${pod.metadata.namespace}/${pod.spec.serviceAccountName}`).digest("hex");
    const tokenCluster = declaration.tokenCluster ?? cluster;
    const issuer = world.issuers.get(tokenCluster.issuerUrl);
    if (!issuer) {
        throw new Error(`pod emulator: no signing key for issuer ${tokenCluster.issuerUrl}`);
    }
    const node = `ip-10-0-${crypto.randomInt(1, 254)}-${crypto.randomInt(1, 254)}.${cluster.region}.compute.internal`;
    const mint = (audience: string, expirationSeconds: number) => {
        const now = Math.floor(Date.now() / 1000);
        const claims = {
            aud: [audience],
            exp: now + expirationSeconds,
            iat: now,
            iss: tokenCluster.issuerUrl,
            jti: uuid(),
            "kubernetes.io": {
                namespace: pod.metadata.namespace,
                node: { name: node, uid: uuid() },
                pod: { name: pod.metadata.name, uid },
                serviceaccount: {
                    name: pod.spec.serviceAccountName,
                    uid: `${saUid.slice(0, 8)}-${saUid.slice(8, 12)}-4${saUid.slice(13, 16)}-8${saUid.slice(17, 20)}-${saUid.slice(20, 32)}`,
                },
            },
            nbf: now,
            sub: `system:serviceaccount:${pod.metadata.namespace}:${pod.spec.serviceAccountName}`,
        };
        return { token: signJwt(claims, issuer.key), claims };
    };

    const container = admitted.spec.containers[0];
    const files: PodFile[] = [];
    const tokens: MintedToken[] = [];
    for (const mount of container.volumeMounts ?? []) {
        const volume = (admitted.spec.volumes ?? []).find((v) => v.name === mount.name)!;
        const mode = volume.configMap?.defaultMode ?? volume.projected?.defaultMode ?? 0o644;
        files.push(...atomicLayout(mount.mountPath, volumeEntries(volume, admitted, declaration.configMaps, mint, tokens, mount.mountPath), mode));
    }

    const env = new Map<string, string>([
        ["HOSTNAME", pod.metadata.name],
        ["KUBERNETES_SERVICE_HOST", "10.100.0.1"],
        ["KUBERNETES_SERVICE_PORT", "443"],
        ["KUBERNETES_SERVICE_PORT_HTTPS", "443"],
        ["KUBERNETES_PORT", "tcp://10.100.0.1:443"],
        ["KUBERNETES_PORT_443_TCP", "tcp://10.100.0.1:443"],
        ["KUBERNETES_PORT_443_TCP_PROTO", "tcp"],
        ["KUBERNETES_PORT_443_TCP_PORT", "443"],
        ["KUBERNETES_PORT_443_TCP_ADDR", "10.100.0.1"],
    ]);
    for (const e of container.env ?? []) {
        env.set(e.name, expand(e.value, env));
    }
    return {
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        uid,
        serviceAccount: pod.spec.serviceAccountName,
        cluster,
        admitted,
        env: [...env.entries()],
        files,
        tokens,
        ...(declaration.reachableInstance ? { instance: declaration.reachableInstance } : {}),
    };
}
