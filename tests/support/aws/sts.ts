/**
 * The STS Query API (STS API reference, version 2011-06-15): form-encoded
 * POST, XML answers in the namespace https://sts.amazonaws.com/doc/2011-06-15/,
 * errors as `<ErrorResponse><Error><Type>Sender</Type><Code>…`.
 * AssumeRoleWithWebIdentity is unsigned; AssumeRole and GetCallerIdentity are
 * SigV4-signed with credentials this endpoint issued.
 */
import * as crypto from "crypto";
import { ControlPlane, RequestContext, ServiceError, Session } from "./control-plane";
import { SignedRequest, verifySigV4 } from "./sigv4";

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export interface HttpAnswer {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function xml(status: number, body: string): HttpAnswer {
    const requestId = crypto.randomUUID();
    return { status, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body: body.replace("{{requestId}}", requestId) };
}

export function stsError(error: ServiceError): HttpAnswer {
    const type = error.status >= 500 ? "Receiver" : "Sender";
    return xml(
        error.status,
        `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${escape(error.code)}</Code>\n    <Message>${escape(error.message)}</Message>\n  </Error>\n  <RequestId>{{requestId}}</RequestId>\n</ErrorResponse>\n`,
    );
}

function result(action: string, inner: string): HttpAnswer {
    return xml(
        200,
        `<${action}Response xmlns="${NS}">\n  <${action}Result>\n${inner}  </${action}Result>\n  <ResponseMetadata>\n    <RequestId>{{requestId}}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
    );
}

function credentialsXml(session: Session): string {
    return (
        `    <AssumedRoleUser>\n      <AssumedRoleId>${escape(session.assumedRoleId)}</AssumedRoleId>\n      <Arn>${escape(session.arn)}</Arn>\n    </AssumedRoleUser>\n` +
        `    <Credentials>\n      <AccessKeyId>${session.accessKeyId}</AccessKeyId>\n      <SecretAccessKey>${escape(session.secretAccessKey)}</SecretAccessKey>\n` +
        `      <SessionToken>${escape(session.sessionToken)}</SessionToken>\n      <Expiration>${session.expiration.toISOString()}</Expiration>\n    </Credentials>\n`
    );
}

/** The region an STS host name serves (the global endpoint signs as us-east-1). */
export function stsRegionOfHost(host: string): string | undefined {
    if (host === "sts.amazonaws.com") {
        return "us-east-1";
    }
    return /^sts\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
}

/** Session tags from `Tags.member.N.Key` / `Tags.member.N.Value`. */
function tagsOf(params: URLSearchParams): Record<string, string> {
    const tags: Record<string, string> = {};
    for (const [name, key] of params) {
        const m = /^Tags\.member\.(\d+)\.Key$/.exec(name);
        if (m) {
            tags[key] = params.get(`Tags.member.${m[1]}.Value`) ?? "";
        }
    }
    return tags;
}

export async function handleSts(plane: ControlPlane, ctx: RequestContext, request: SignedRequest, host: string): Promise<HttpAnswer> {
    const region = stsRegionOfHost(host)!;
    const params = new URLSearchParams(request.body.toString("utf8"));
    const action = params.get("Action") ?? "";
    if (params.get("Version") !== "2011-06-15") {
        return stsError({ status: 400, code: "InvalidAction", message: `Could not find operation ${action} for version ${params.get("Version")}` });
    }
    const duration = Number(params.get("DurationSeconds") ?? 3600);

    if (action === "AssumeRoleWithWebIdentity") {
        const roleArn = params.get("RoleArn") ?? "";
        const outcome = await plane.webIdentity(ctx, roleArn, params.get("WebIdentityToken") ?? "", params.get("RoleSessionName") ?? "", duration);
        if (!outcome.ok) {
            return stsError(outcome);
        }
        return result(
            "AssumeRoleWithWebIdentity",
            `    <SubjectFromWebIdentityToken>${escape(outcome.subject)}</SubjectFromWebIdentityToken>\n    <Audience>${escape(outcome.audience)}</Audience>\n` +
                credentialsXml(outcome.session) +
                `    <Provider>${escape(outcome.providerArn)}</Provider>\n`,
        );
    }

    // Every other action is signed with credentials this endpoint issued.
    const verified = verifySigV4(request, (akid) => plane.sessions.get(akid), { region, service: "sts" });
    if (!verified.ok) {
        plane.record(ctx, {
            api: "sts",
            caller: "unauthenticated",
            action: `sts:${action}`,
            resource: "*",
            verdict: "deny",
            reason: `${verified.code}: ${verified.message.split("\n")[0]}`,
        });
        return stsError({
            status: verified.code === "InvalidClientTokenId" || verified.code === "SignatureDoesNotMatch" ? 403 : 400,
            code: verified.code,
            message: verified.message,
        });
    }
    const caller = plane.sessions.get(verified.accessKeyId)!;
    if (caller.expiration.getTime() <= Date.now()) {
        return stsError({ status: 400, code: "ExpiredToken", message: "The security token included in the request is expired" });
    }

    if (action === "GetCallerIdentity") {
        // Needs no permission (STS API reference, GetCallerIdentity).
        plane.record(ctx, { api: "sts", caller: caller.arn, action: "sts:GetCallerIdentity", resource: "*", verdict: "allow", reason: "no permission needed" });
        return result(
            "GetCallerIdentity",
            `    <Arn>${escape(caller.arn)}</Arn>\n    <UserId>${escape(caller.assumedRoleId)}</UserId>\n    <Account>${caller.account}</Account>\n`,
        );
    }
    if (action === "AssumeRole") {
        const outcome = await plane.assumeRole(ctx, caller, params.get("RoleArn") ?? "", params.get("RoleSessionName") ?? "", tagsOf(params), duration);
        if (!outcome.ok) {
            return stsError(outcome);
        }
        return result(
            "AssumeRole",
            credentialsXml(outcome.session) + `    <PackedPolicySize>${Object.keys(outcome.session.tags).length > 0 ? 6 : 0}</PackedPolicySize>\n`,
        );
    }
    return stsError({ status: 400, code: "InvalidAction", message: `Could not find operation ${action} for version 2011-06-15` });
}
