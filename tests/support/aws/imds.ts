/**
 * The EC2 Instance Metadata Service (IMDS) of one emulated instance, at
 * http://169.254.169.254 inside the run's network namespace, as the
 * clients' default credential chains reach it on a node. It serves IMDSv2
 * only (the instance's `HttpTokens` is `required`, as AWS advises and as
 * EKS node groups are commonly launched), the way the Amazon EC2 user guide
 * describes it ("Use the Instance Metadata Service to access instance
 * metadata", "Retrieve security credentials from instance metadata",
 * "Instance metadata categories"):
 *
 * - `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`
 *   (1 to 21600) answers a session token (text), echoing the TTL header;
 *   without a valid TTL: 400; with an `X-Forwarded-For` header: 403 (IMDS
 *   refuses token requests that went through a proxy).
 * - Every GET needs a live token in `X-aws-ec2-metadata-token`, else 401.
 * - `/latest/meta-data/iam/security-credentials/` answers the instance
 *   profile's role name; `…/security-credentials/<role>` the credentials
 *   JSON (Code, LastUpdated, Type "AWS-HMAC", AccessKeyId, SecretAccessKey,
 *   Token, Expiration): a session of the node role that the control plane
 *   issues as EC2 would (`ControlPlane.ec2Instance`), so requests signed
 *   with it carry the EC2 instance keys.
 * - The region, for clients that look for it here:
 *   `/latest/meta-data/placement/region` (the JavaScript SDK v3 asks it),
 *   `…/placement/availability-zone` and `…/availability-zone/` (the AWS CLI
 *   v2 asks the latter and drops the zone letter),
 *   `/latest/dynamic/instance-identity/document`; and
 *   `/latest/meta-data/instance-id`.
 * - Anything else is 404, logged loudly (stderr and `unknown`): a client
 *   asking for something this IMDS does not model is a finding, not a
 *   guess to make silently.
 */
import * as crypto from "crypto";
import { ControlPlane, RequestContext } from "./control-plane";
import { HttpAnswer } from "./sts";
import { WorldInstance } from "./world";

export const IMDS_HOST = "169.254.169.254";
export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const MAX_TOKEN_TTL_SECONDS = 21600;
const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/";

/** One request the IMDS answered, for the tests' record of what each client asked. */
export interface ImdsRequest {
    readonly runId: string;
    readonly userAgent: string;
    readonly method: string;
    readonly path: string;
    readonly tokenSent: boolean;
    readonly status: number;
}

function text(status: number, body: string, headers: Record<string, string> = {}): HttpAnswer {
    return { status, headers: { "content-type": "text/plain", server: "EC2ws", ...headers }, body };
}

/** The answer to a request this IMDS does not model (recognised by identity, so that it is logged). */
const NOT_MODELLED: HttpAnswer = Object.freeze(text(404, "404 - Not Found"));

/** IMDS's timestamps: ISO 8601 to the second. */
const imdsTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** Where an IMDS logs what it answered: every request, and those for what it does not model. */
export interface ImdsLog {
    readonly requests: ImdsRequest[];
    readonly unknown: ImdsRequest[];
}

export class InstanceMetadataService {
    /** Session tokens handed out, with when each expires (ms). */
    private readonly tokens = new Map<string, number>();
    private readonly bootedAt = new Date(Date.now() - 3600 * 1000);

    constructor(
        readonly plane: ControlPlane,
        readonly instance: WorldInstance,
        readonly log: ImdsLog = { requests: [], unknown: [] },
    ) {}

    private get roleName(): string {
        return this.instance.roleArn.split("/").pop()!;
    }

    async handle(ctx: RequestContext, method: string, url: string, headers: Readonly<Record<string, string | string[] | undefined>>): Promise<HttpAnswer> {
        const path = url.split("?")[0];
        const token = headers[TOKEN_HEADER];
        const answer = await this.answer(ctx, method, path, headers, typeof token === "string" ? token : undefined);
        const request: ImdsRequest = { runId: ctx.runId, userAgent: ctx.userAgent, method, path, tokenSent: token !== undefined, status: answer.status };
        this.log.requests.push(request);
        if (answer === NOT_MODELLED) {
            this.log.unknown.push(request);
            console.error(`[imds] NOT MODELLED: ${method} ${path} (run ${ctx.runId}, ${ctx.userAgent || "no user agent"}): answered 404`);
        }
        return answer;
    }

    private async answer(
        ctx: RequestContext,
        method: string,
        path: string,
        headers: Readonly<Record<string, string | string[] | undefined>>,
        token: string | undefined,
    ): Promise<HttpAnswer> {
        if (method === "PUT" && path === "/latest/api/token") {
            return this.newToken(headers);
        }
        if (method !== "GET") {
            return NOT_MODELLED;
        }
        const expires = token === undefined ? undefined : this.tokens.get(token);
        if (expires === undefined || expires <= Date.now()) {
            return text(401, "401 - Unauthorized");
        }
        const document = this.identityDocument();
        switch (path) {
            case CREDENTIALS_PATH:
                return text(200, this.roleName);
            case `${CREDENTIALS_PATH}${this.roleName}`:
                return this.credentials(ctx);
            case "/latest/meta-data/placement/region":
                return text(200, this.instance.region);
            // With the slash: what botocore's IMDSRegionFetcher asks (the AWS CLI v2 takes its
            // region from it when none is configured), on every EC2 instance it runs on.
            case "/latest/meta-data/placement/availability-zone":
            case "/latest/meta-data/placement/availability-zone/":
                return text(200, this.instance.availabilityZone);
            case "/latest/meta-data/instance-id":
                return text(200, this.instance.instanceId);
            case "/latest/dynamic/instance-identity/document":
                return text(200, JSON.stringify(document, null, 2));
        }
        if (path.startsWith(CREDENTIALS_PATH)) {
            // Another role name than the instance profile's: IMDS has nothing there.
            return text(404, "404 - Not Found");
        }
        return NOT_MODELLED;
    }

    private newToken(headers: Readonly<Record<string, string | string[] | undefined>>): HttpAnswer {
        if (headers["x-forwarded-for"] !== undefined) {
            return text(403, "403 - Forbidden");
        }
        const ttlText = headers[TOKEN_TTL_HEADER];
        const ttl = typeof ttlText === "string" && /^\d+$/.test(ttlText) ? Number(ttlText) : NaN;
        if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) {
            return text(400, "400 - Missing or Invalid Parameters");
        }
        const token = `AQAEA${crypto.randomBytes(40).toString("base64")}`;
        this.tokens.set(token, Date.now() + ttl * 1000);
        return text(200, token, { [TOKEN_TTL_HEADER]: String(ttl) });
    }

    private async credentials(ctx: RequestContext): Promise<HttpAnswer> {
        const delivered = await this.plane.ec2Instance(ctx, this.instance);
        const lastUpdated = imdsTime(new Date());
        if (!delivered.ok) {
            // What IMDS shows when EC2 could not assume the instance profile's role.
            return text(200, JSON.stringify({ Code: "AssumeRoleUnauthorizedAccess", Message: delivered.message, LastUpdated: lastUpdated }, null, 2));
        }
        const { session } = delivered;
        return text(
            200,
            JSON.stringify(
                {
                    Code: "Success",
                    LastUpdated: lastUpdated,
                    Type: "AWS-HMAC",
                    AccessKeyId: session.accessKeyId,
                    SecretAccessKey: session.secretAccessKey,
                    Token: session.sessionToken,
                    Expiration: imdsTime(session.expiration),
                },
                null,
                2,
            ),
        );
    }

    private identityDocument(): Record<string, unknown> {
        return {
            accountId: this.instance.account,
            architecture: "x86_64",
            availabilityZone: this.instance.availabilityZone,
            billingProducts: null,
            devpayProductCodes: null,
            marketplaceProductCodes: null,
            imageId: `ami-0${crypto.createHash("sha256").update(this.instance.region).digest("hex").slice(0, 16)}`,
            instanceId: this.instance.instanceId,
            instanceType: "t3.large",
            kernelId: null,
            pendingTime: imdsTime(this.bootedAt),
            privateIp: this.instance.privateIp,
            ramdiskId: null,
            region: this.instance.region,
            version: "2017-09-30",
        };
    }
}
