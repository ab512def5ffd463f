/**
 * The local AWS endpoint: STS and ECR over HTTPS (TLS terminated here, with a
 * CA made for the run, so SNI and certificate names are checked by the
 * clients as against AWS), the EKS Pod Identity agent over HTTP, and, for a
 * run on an EC2 instance (a process on a node), that instance's Instance
 * Metadata Service over HTTP (imds.ts).
 *
 * It listens on Unix sockets only, one set per pod run: the pod's network
 * namespace has nothing but loopback, and a relay inside it (pod-init.js)
 * pipes 127.0.0.1:443, 169.254.170.23:80 and, on a node, 169.254.169.254:80
 * to these sockets. A run's sockets tell which pod (and which cluster's node)
 * a request came from, so decisions are logged per run, the agent knows its
 * cluster and the IMDS its instance. A pod run has no IMDS socket: nothing
 * listens at 169.254.169.254 in a pod, as on nodes that block pods from it.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import { IamSimulator } from "../simulate";
import { ControlPlane, RequestContext } from "./control-plane";
import { ECR_TARGET_PREFIX, ecrError, ecrRegionOfHost, handleEcr } from "./ecr";
import { ImdsRequest, InstanceMetadataService } from "./imds";
import { handleAgent } from "./pod-identity";
import { headerValues } from "./sigv4";
import { HttpAnswer, handleSts, stsRegionOfHost } from "./sts";
import { EndpointTls, makeEndpointTls } from "./tls";
import { World, WorldCluster, WorldInstance } from "./world";

export interface RunSockets {
    /** HTTPS (STS, ECR): what 127.0.0.1:443 in the pod is relayed to. */
    readonly aws: string;
    /** HTTP (the Pod Identity agent of the pod's node): what 169.254.170.23:80 is relayed to. */
    readonly agent: string;
    /** HTTP (the IMDS of the run's instance): what 169.254.169.254:80 is relayed to; only for a run on an instance. */
    readonly imds?: string;
    close(): Promise<void>;
}

/** The AWS host names of these regions that must resolve to the endpoint in a pod. */
export function awsHostNames(regions: readonly string[]): string[] {
    return ["sts.amazonaws.com", ...[...new Set(regions)].flatMap((r) => [`sts.${r}.amazonaws.com`, `api.ecr.${r}.amazonaws.com`, `ecr.${r}.amazonaws.com`])];
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (c: Buffer) => chunks.push(c));
        request.on("end", () => resolve(Buffer.concat(chunks)));
        request.on("error", reject);
    });
}

function send(response: http.ServerResponse, answer: HttpAnswer): void {
    response.writeHead(answer.status, { ...answer.headers, "content-length": Buffer.byteLength(answer.body) });
    response.end(answer.body);
}

const userAgentOf = (request: http.IncomingMessage) => String(request.headers["user-agent"] ?? "").split(" ")[0];

export class AwsEndpoint {
    readonly plane: ControlPlane;
    readonly tls: EndpointTls;
    readonly hostNames: readonly string[];
    /** Requests for hosts the endpoint does not serve (a client resolving something unexpected). */
    readonly strayRequests: string[] = [];
    /** Every request the runs' IMDS answered, and those for paths it does not model. */
    readonly imdsRequests: ImdsRequest[] = [];
    readonly unknownImdsRequests: ImdsRequest[] = [];

    constructor(world: World, simulator: IamSimulator) {
        this.plane = new ControlPlane(world, simulator);
        this.hostNames = awsHostNames([world.registry.region, ...world.clusters.map((c) => c.region)]);
        this.tls = makeEndpointTls(this.hostNames);
    }

    private async serveAws(ctx: RequestContext, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
        const body = await readBody(request);
        const host = String(request.headers.host ?? "").replace(/:443$/, "");
        const signed = { method: request.method ?? "", url: request.url ?? "/", rawHeaders: request.rawHeaders, body };
        const target = headerValues(request.rawHeaders, "x-amz-target")[0] ?? "";
        if (stsRegionOfHost(host) && request.method === "POST") {
            return send(response, await handleSts(this.plane, ctx, signed, host));
        }
        if (ecrRegionOfHost(host) && target.startsWith(ECR_TARGET_PREFIX)) {
            return send(response, await handleEcr(this.plane, ctx, signed, host, target));
        }
        this.strayRequests.push(`${ctx.runId}: ${request.method} https://${host}${request.url} target=${target}`);
        send(response, ecrError("UnknownOperationException", `the local endpoint does not serve ${request.method} ${host}${request.url}`, 404));
    }

    /**
     * Opens the sockets of one run in `dir`; `cluster` is the cluster whose
     * node runs the pod, `instance` the EC2 instance of a run on a node
     * (then its IMDS is served too).
     */
    async openRun(runId: string, dir: string, cluster: WorldCluster | undefined, instance?: WorldInstance): Promise<RunSockets> {
        const fail = (response: http.ServerResponse, error: unknown) => {
            if (!response.headersSent) {
                response.writeHead(500, { "content-type": "text/plain" });
            }
            response.end(`local endpoint failure: ${error instanceof Error ? error.stack : String(error)}`);
        };
        const aws = https.createServer({ key: this.tls.keyPem, cert: this.tls.certPem }, (request, response) => {
            this.serveAws({ runId, userAgent: userAgentOf(request), cluster }, request, response).catch((e) => fail(response, e));
        });
        const agent = http.createServer((request, response) => {
            const ctx = { runId, userAgent: userAgentOf(request), cluster };
            readBody(request)
                .then(() =>
                    handleAgent(
                        this.plane,
                        ctx,
                        request.method ?? "",
                        request.url ?? "",
                        String(request.headers.host ?? ""),
                        String(request.headers.authorization ?? ""),
                    ),
                )
                .then((answer) => send(response, answer))
                .catch((e) => fail(response, e));
        });
        const metadata = instance
            ? new InstanceMetadataService(this.plane, instance, { requests: this.imdsRequests, unknown: this.unknownImdsRequests })
            : undefined;
        const imds = metadata
            ? http.createServer((request, response) => {
                  const ctx = { runId, userAgent: userAgentOf(request), cluster };
                  readBody(request)
                      .then(() => metadata.handle(ctx, request.method ?? "", request.url ?? "", request.headers))
                      .then((answer) => send(response, answer))
                      .catch((e) => fail(response, e));
              })
            : undefined;
        aws.on("tlsClientError", () => undefined);
        const sockets = new Set<net.Socket>();
        const servers = [aws, agent, ...(imds ? [imds] : [])] as net.Server[];
        for (const server of servers) {
            server.on("connection", (s: net.Socket) => {
                sockets.add(s);
                s.on("close", () => sockets.delete(s));
            });
        }
        const paths = { aws: `${dir}/aws.sock`, agent: `${dir}/agent.sock`, ...(imds ? { imds: `${dir}/imds.sock` } : {}) };
        await Promise.all(
            [[aws, paths.aws], [agent, paths.agent], ...(imds ? [[imds, paths.imds]] : [])].map(
                ([server, path]) =>
                    new Promise<void>((resolve, reject) => {
                        (server as net.Server).once("error", reject);
                        (server as net.Server).listen(path as string, () => resolve());
                    }),
            ),
        );
        return {
            ...paths,
            close: async () => {
                for (const s of sockets) {
                    s.destroy();
                }
                await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
                for (const path of Object.values(paths)) {
                    fs.rmSync(path, { force: true });
                }
            },
        };
    }
}
