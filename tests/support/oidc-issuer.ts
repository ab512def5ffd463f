/**
 * A real OIDC issuer for the doctor's tests: HTTPS on 127.0.0.1 with a CA and
 * server certificate made here (node-forge), serving a discovery document and
 * a key set of RSA keys generated here, and signing tokens with them, as a
 * Kubernetes API server signs service-account tokens.
 *
 * The issuer URL has no port (`https://127.0.0.1/id/<ID>`), because IAM and
 * this package's validation refuse issuer URLs with one; clients reach the
 * server's real port with `connectTo`, as curl's --connect-to does. With the
 * host being 127.0.0.1, a client that forgot `connectTo` would still talk to
 * this machine only.
 *
 * Also builds the stack states the doctor reads: the two programs run on the
 * mock engine with cluster B adopted under this issuer.
 */
import * as crypto from "crypto";
import * as https from "https";
import * as net from "net";
import { parseStackExport, StackExport } from "../../tools/state/stack-export";
import { toStackExport } from "../../tools/state/from-run";
import { runTwoStacks } from "../../tools/engine/two-stacks";
import { makeCert } from "./certs";
import { clusterA, clusterB, GRANTS, registry, STACK_A, STACK_B } from "./fixtures";

/** Base64url without padding, as JWS uses it. */
const base64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

export const ISSUER_HOST = "127.0.0.1";
export const ISSUER_ID = "D0C70R5EC0DE0123456789ABCDEF0123";

/** One signing key: its kid and private key; the issuer publishes the public half unless told otherwise. */
export interface SigningKey {
    readonly kid: string;
    readonly privateKey: crypto.KeyObject;
    readonly publicJwk: Record<string, unknown>;
}

export function newSigningKey(kid: string): SigningKey {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    return { kid, privateKey, publicJwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
}

export interface SignOptions {
    readonly key?: SigningKey;
    /** Header kid; default the key's. */
    readonly kid?: string;
    /** `RS256` (default), `none` (no signature) or `HS256` (HMAC with "secret"). */
    readonly alg?: "RS256" | "none" | "HS256";
}

/** The discovery document and JWKS of `/id/<ISSUER_ID>`, and tokens signed by its keys. */
export interface TestIssuer {
    /** `https://127.0.0.1/id/<ISSUER_ID>`: what tokens carry as iss. */
    readonly issuerUrl: string;
    readonly port: number;
    /** The test CA, to trust instead of the system's roots. */
    readonly caPem: string;
    /** SHA-1 of the CA certificate: the top of the chain the server presents, so the provider's thumbprint. */
    readonly thumbprint: string;
    /** The published key. */
    readonly key: SigningKey;
    /** GET requests served, by path. */
    readonly requests: string[];
    /** Overrides the discovery document's `issuer` (default: issuerUrl). */
    discoveryIssuer?: string;
    /** A signed compact JWS with these claims. */
    sign(claims: Record<string, unknown>, options?: SignOptions): string;
    close(): Promise<void>;
}

/** The claims of a token Kubernetes projects for IRSA, valid from `now` for an hour. */
export function serviceAccountClaims(issuerUrl: string, namespace: string, name: string, now: Date): Record<string, unknown> {
    const t = Math.floor(now.getTime() / 1000);
    return {
        aud: ["sts.amazonaws.com"],
        exp: t + 3600,
        iat: t,
        nbf: t,
        iss: issuerUrl,
        sub: `system:serviceaccount:${namespace}:${name}`,
        "kubernetes.io": { namespace, serviceaccount: { name, uid: "0b1c2d3e-0000-4000-8000-000000000001" } },
    };
}

export async function startOidcIssuer(): Promise<TestIssuer> {
    const ca = makeCert({ cn: "Doctor Test Root CA", ca: true });
    const leaf = makeCert({ cn: ISSUER_HOST, ca: false, issuer: ca, ipAddress: ISSUER_HOST });
    const key = newSigningKey("doctor-key-1");
    const issuerUrl = `https://${ISSUER_HOST}/id/${ISSUER_ID}`;
    const requests: string[] = [];
    const sockets = new Set<net.Socket>();
    const state: { discoveryIssuer?: string } = {};
    // The chain presented is leaf + CA, as public issuers present leaf + intermediate: the thumbprint is the top one's.
    const server = https.createServer({ key: leaf.keyPem, cert: leaf.pem + ca.pem }, (request, response) => {
        requests.push(request.url ?? "");
        const send = (status: number, body: unknown) => {
            response.writeHead(status, { "content-type": "application/json" });
            response.end(JSON.stringify(body));
        };
        if (request.url === `/id/${ISSUER_ID}/.well-known/openid-configuration`) {
            send(200, {
                issuer: state.discoveryIssuer ?? issuerUrl,
                jwks_uri: `${issuerUrl}/keys`,
                response_types_supported: ["id_token"],
                subject_types_supported: ["public"],
                id_token_signing_alg_values_supported: ["RS256"],
            });
        } else if (request.url === `/id/${ISSUER_ID}/keys`) {
            send(200, { keys: [key.publicJwk] });
        } else {
            send(404, { message: "not found" });
        }
    });
    server.on("connection", (s: net.Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    server.on("tlsClientError", () => undefined);
    const port = await new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, ISSUER_HOST, () => resolve((server.address() as net.AddressInfo).port));
    });
    return {
        issuerUrl,
        port,
        caPem: ca.pem,
        thumbprint: crypto.createHash("sha1").update(ca.der).digest("hex"),
        key,
        requests,
        get discoveryIssuer() {
            return state.discoveryIssuer;
        },
        set discoveryIssuer(value: string | undefined) {
            state.discoveryIssuer = value;
        },
        sign(claims, options = {}) {
            const alg = options.alg ?? "RS256";
            const signer = options.key ?? key;
            const header = { alg, typ: "JWT", ...(alg === "none" ? {} : { kid: options.kid ?? signer.kid }) };
            const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
            const signature =
                alg === "none"
                    ? Buffer.alloc(0)
                    : alg === "HS256"
                      ? crypto.createHmac("sha256", "secret").update(input).digest()
                      : crypto.sign("RSA-SHA256", Buffer.from(input), signer.privateKey);
            return `${input}.${base64url(signature)}`;
        },
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}

/** The stacks as the doctor reads them, both parsed and as `pulumi stack export --show-secrets` JSON text. */
export interface DoctorStates {
    readonly ecr: StackExport;
    readonly eksA: StackExport;
    readonly eksB: StackExport;
    readonly text: { readonly ecr: string; readonly eksA: string; readonly eksB: string };
}

/**
 * Runs both programs with cluster B adopted under `issuerUrl`: its
 * `ci/image-builder` federates (grant ci-builders), `payments/deployer`
 * chains (grant payments, extended to cluster B here) and `ml/trainer` uses
 * Pod Identity. `thumbprint` is what the EKS stack fetched and the ECR stack's
 * OIDC provider lists.
 */
export async function doctorStates(issuerUrl: string, thumbprint: string): Promise<DoctorStates> {
    const eksB = clusterB({
        "ecrpull:oidcThumbprint": "fetch",
        "ecrpull:cluster": { name: "apps-b", create: false, nodeRoleArns: [`arn:aws:iam::777788889999:role/apps-b-nodes`] },
        "ecrpull:workloads": [
            { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders" },
            { namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" },
            { namespace: "ml", serviceAccount: "trainer", grant: "ml", path: "podIdentity" },
        ],
    });
    const grants = GRANTS.map((g) => (g.name === "payments" ? { ...g, clusters: [STACK_A, STACK_B] } : g));
    const run = await runTwoStacks(
        [clusterA(), { ...eksB, existingClusters: { "apps-b": { issuerUrl, addons: ["eks-pod-identity-agent"] } }, fetchThumbprint: async () => thumbprint }],
        registry({ "ecrpull:grants": grants }),
    );
    const text = {
        ecr: JSON.stringify(toStackExport(run.ecr, { stack: "ecr" }), null, 2),
        eksA: JSON.stringify(toStackExport(run.eks[0], { stack: "eks-a" }), null, 2),
        eksB: JSON.stringify(toStackExport(run.eks[1], { stack: "eks-b" }), null, 2),
    };
    return {
        ecr: parseStackExport(text.ecr, "ecr.json"),
        eksA: parseStackExport(text.eksA, "eks-a.json"),
        eksB: parseStackExport(text.eksB, "eks-b.json"),
        text,
    };
}
