/**
 * The local AWS endpoint: STS and ECR over HTTPS (TLS terminated here, with a
 * CA made for the run, so SNI and certificate names are checked by the
 * clients as against AWS), and the EKS Pod Identity agent over HTTP.
 *
 * It listens on Unix sockets only, one pair per pod run: the pod's network
 * namespace has nothing but loopback, and a relay inside it (pod-init.js)
 * pipes 127.0.0.1:443 and 169.254.170.23:80 to these sockets. A run's
 * sockets tell which pod (and which cluster's node) a request came from, so
 * decisions are logged per run and the agent knows its cluster.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import { IamSimulator } from "../simulate";
import { ControlPlane, RequestContext } from "./control-plane";
import { ECR_TARGET_PREFIX, ecrError, ecrRegionOfHost, handleEcr } from "./ecr";
import { handleAgent } from "./pod-identity";
import { headerValues } from "./sigv4";
import { HttpAnswer, handleSts, stsRegionOfHost } from "./sts";
import { EndpointTls, makeEndpointTls } from "./tls";
import { World, WorldCluster } from "./world";

export interface RunSockets {
    /** HTTPS (STS, ECR): what 127.0.0.1:443 in the pod is relayed to. */
    readonly aws: string;
    /** HTTP (the Pod Identity agent of the pod's node): what 169.254.170.23:80 is relayed to. */
    readonly agent: string;
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

    /** Opens the sockets of one pod run in `dir`; `cluster` is the cluster whose node runs the pod. */
    async openRun(runId: string, dir: string, cluster: WorldCluster | undefined): Promise<RunSockets> {
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
        aws.on("tlsClientError", () => undefined);
        const sockets = new Set<net.Socket>();
        const servers = [aws, agent] as net.Server[];
        for (const server of servers) {
            server.on("connection", (s: net.Socket) => {
                sockets.add(s);
                s.on("close", () => sockets.delete(s));
            });
        }
        const paths = { aws: `${dir}/aws.sock`, agent: `${dir}/agent.sock` };
        await Promise.all(
            [
                [aws, paths.aws],
                [agent, paths.agent],
            ].map(
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
