/**
 * What STS, ECR and EKS Auth decide, shared by the three front ends: the
 * temporary credentials the endpoint issued (so that it can verify SigV4 and
 * knows the session behind each access key), every authorization decision
 * with its caller, action, resource and verdict, and the checks themselves.
 *
 * Every allow or deny of a policy question is the answer of `IamSimulator`
 * (tests/support/simulate.ts, over @cloud-copilot/iam-simulate) on the
 * World's documents: the trust of the role asked for, the caller's identity
 * policies, the repository policy. Nothing here lists who may do what. The
 * checks STS makes before any policy (a provider for the token's issuer in
 * the role's account, the token's signature, expiry and audience against the
 * provider's client IDs) are made here the way STS documents them, and are
 * logged with their own reasons.
 *
 * Organizations: when the World places the caller's account in AWS
 * Organizations, a request by a role session (sts:AssumeRole, sts:TagSession,
 * ECR) carries the global keys `aws:PrincipalOrgID` and
 * `aws:PrincipalOrgPaths` of that account (IAM user guide, "AWS global
 * condition context keys": both are present only when the principal's
 * account is a member of an organization; the paths key is multivalued, one
 * path per account). A web identity and an AWS service principal are no
 * member of an organization: their requests carry neither.
 *
 * Principal tags: a request by a role session carries the role's own tags,
 * and the session's tags (Pod Identity's), as `aws:PrincipalTag/<key>`; a
 * session tag overrides a role tag of the same key (IAM user guide, "AWS
 * global condition context keys", aws:PrincipalTag: present "for a
 * principal using an IAM role with attached tags or session tags"; "Pass
 * session tags in AWS STS": session tags override role tags).
 *
 * EC2 instance credentials (`ec2Instance`, what the Instance Metadata Service
 * of tests/support/aws/imds.ts hands out): EC2 assumes the instance
 * profile's role as `ec2.amazonaws.com` (decided by the role's trust), with
 * the instance ID as session name and no session tags. A request signed with
 * those credentials, and only such a request, carries
 * `aws:Ec2InstanceSourceVpc` (the instance's VPC) and
 * `aws:Ec2InstanceSourcePrivateIPv4` (its primary private address): IAM user
 * guide, "AWS global condition context keys", both keys are included in the
 * request context when the requester signs with Amazon EC2 role credentials;
 * AWS Security Blog, "How to use policies to restrict where EC2 instance
 * credentials can be used from" (2023-03): "available only for use with
 * credentials issued to an EC2 instance". It also carries
 * `ec2:SourceInstanceArn` and `ec2:RoleDelivery` (2.0: delivered over
 * IMDSv2, the only version this IMDS serves) (Amazon EC2 user guide, "IAM
 * roles for Amazon EC2"; Service Authorization Reference, Amazon EC2
 * condition keys). A session that an EC2 session then assumes (role
 * chaining), and every web identity, AssumeRole and Pod Identity session,
 * carries none of these keys.
 */
import * as crypto from "crypto";
import { IamSimulator, NamedPolicy } from "../simulate";
import { audiences, parseJwt, verifyJwt } from "./jwt";
import { organizationIdOfPath, World, WorldCluster, WorldInstance, WorldRole } from "./world";

export interface Session {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
    readonly roleArn: string;
    readonly roleName: string;
    readonly account: string;
    readonly sessionName: string;
    /** `arn:aws:sts::<account>:assumed-role/<role>/<session>` */
    readonly arn: string;
    readonly assumedRoleId: string;
    readonly tags: Readonly<Record<string, string>>;
    readonly expiration: Date;
    /** How it was obtained: `web-identity`, `assume-role`, `pod-identity`, `ec2-instance`. */
    readonly via: string;
    /** Whether it is a role-chained session (AssumeRole by a role session): one hour at most. */
    readonly chained: boolean;
    /** The instance EC2 issued these credentials to (`via` "ec2-instance"); absent for every other session. */
    readonly instance?: WorldInstance;
}

export type Verdict = "allow" | "deny";

export interface Decision {
    readonly seq: number;
    /** The pod run whose connection carried the request. */
    readonly runId: string;
    /** `ec2`: EC2 assuming an instance profile's role to hand its credentials to the instance (IMDS). */
    readonly api: "sts" | "ecr" | "eks-auth" | "ec2" | "endpoint";
    /** The session ARN, `<issuer> <sub>` for a web identity, or a service principal. */
    readonly caller: string;
    readonly action: string;
    readonly resource: string;
    readonly verdict: Verdict;
    /** `policy evaluation` when IamSimulator decided, else the check that decided. */
    readonly reason: string;
    readonly userAgent: string;
    /**
     * The global keys the endpoint added to the request context (see the
     * header): organization keys, principal tags, the EC2 instance keys;
     * absent when it added none.
     */
    readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** Where a request came from. */
export interface RequestContext {
    readonly runId: string;
    readonly userAgent: string;
    /** The cluster whose node the pod runs on (the Pod Identity agent's cluster). */
    readonly cluster?: WorldCluster;
}

/** An AWS error as the API returns it. */
export interface ServiceError {
    readonly status: number;
    readonly code: string;
    readonly message: string;
}

export type Outcome<T> = ({ readonly ok: true } & T) | ({ readonly ok: false } & ServiceError);

export const POLICY = "policy evaluation";
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

const random = (alphabet: string, length: number) => Array.from(crypto.randomBytes(length), (b) => alphabet[b % alphabet.length]).join("");
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const hostPath = (url: string) => url.replace(/^https:\/\//, "");
const accountOf = (arn: string) => arn.split(":")[4] ?? "";
const EC2_SERVICE = "ec2.amazonaws.com";

/** The keys a request signed with EC2 instance credentials carries about the instance (see the header). */
export function ec2InstanceContext(instance: WorldInstance, partition: string): Record<string, string> {
    return {
        "aws:Ec2InstanceSourceVpc": instance.vpcId,
        "aws:Ec2InstanceSourcePrivateIPv4": instance.privateIp,
        "ec2:SourceInstanceArn": `arn:${partition}:ec2:${instance.region}:${instance.account}:instance/${instance.instanceId}`,
        "ec2:RoleDelivery": "2.0",
    };
}

export class ControlPlane {
    readonly sessions = new Map<string, Session>();
    readonly decisions: Decision[] = [];
    /** EC2 instance credentials already delivered, by run and instance. */
    private readonly instanceSessions = new Map<string, Session>();

    constructor(
        readonly world: World,
        readonly simulator: IamSimulator,
    ) {}

    record(ctx: RequestContext, d: Omit<Decision, "seq" | "runId" | "userAgent">): void {
        this.decisions.push({ seq: this.decisions.length + 1, runId: ctx.runId, userAgent: ctx.userAgent, ...d });
    }

    /** Decisions of one pod run. */
    decisionsOf(runId: string): Decision[] {
        return this.decisions.filter((d) => d.runId === runId);
    }

    role(arn: string): WorldRole | undefined {
        return this.world.roles.get(arn);
    }

    /**
     * The keys AWS adds to a request of a principal of `account`: its
     * organization's ID and its path (an array: aws:PrincipalOrgPaths is
     * multivalued); undefined for an account in no organization.
     */
    organizationContext(account: string): Record<string, string | string[]> | undefined {
        const orgPath = this.world.organization?.pathOf(account);
        if (orgPath === undefined) {
            return undefined;
        }
        return { "aws:PrincipalOrgID": organizationIdOfPath(orgPath), "aws:PrincipalOrgPaths": [orgPath] };
    }

    /**
     * Every global key AWS adds to a request signed by `caller` (see the
     * header): the organization keys of its account, its principal tags, and
     * for EC2 instance credentials the instance's keys. Undefined when none.
     */
    requestContext(caller: Session): Record<string, string | string[]> | undefined {
        const role = this.role(caller.roleArn);
        const tags = { ...(role?.tags ?? {}), ...caller.tags };
        const context: Record<string, string | string[]> = {
            ...this.organizationContext(caller.account),
            ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:PrincipalTag/${key}`, value])),
            ...(caller.instance ? ec2InstanceContext(caller.instance, this.world.partition) : {}),
        };
        return Object.keys(context).length > 0 ? context : undefined;
    }

    private identityPolicies(role: WorldRole): NamedPolicy[] {
        return role.identityPolicies.map((p) => ({ name: p.name, json: p.json }));
    }

    /** Temporary credentials for a session of `role`, remembered for SigV4 and GetCallerIdentity. */
    issue(
        role: WorldRole,
        sessionName: string,
        tags: Record<string, string>,
        durationSeconds: number,
        via: string,
        chained: boolean,
        instance?: WorldInstance,
    ): Session {
        const session: Session = {
            accessKeyId: `ASIA${random(UPPER, 16)}`,
            secretAccessKey: random("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
            sessionToken: `IQoJb3JpZ2luX2VjE${crypto.randomBytes(96).toString("base64")}`,
            roleArn: role.arn,
            roleName: role.name,
            account: role.account,
            sessionName,
            arn: `arn:${this.world.partition}:sts::${role.account}:assumed-role/${role.name}/${sessionName}`,
            assumedRoleId: `${role.uniqueId}:${sessionName}`,
            tags,
            expiration: new Date(Date.now() + durationSeconds * 1000),
            via,
            chained,
            ...(instance ? { instance } : {}),
        };
        this.sessions.set(session.accessKeyId, session);
        return session;
    }

    private checkSessionName(sessionName: string): ServiceError | undefined {
        return SESSION_NAME.test(sessionName)
            ? undefined
            : {
                  status: 400,
                  code: "ValidationError",
                  message: `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
              };
    }

    private checkDuration(role: WorldRole, durationSeconds: number, chained: boolean): ServiceError | undefined {
        if (chained && durationSeconds > 3600) {
            return {
                status: 400,
                code: "ValidationError",
                message: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            };
        }
        if (durationSeconds > role.maxSessionDuration || durationSeconds < 900) {
            return { status: 400, code: "ValidationError", message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role." };
        }
        return undefined;
    }

    /**
     * AssumeRoleWithWebIdentity (STS API reference): the token's issuer must
     * have an IAM OIDC provider in the role's account, the token must verify
     * with the issuer's key and not be expired, its audience must be one of
     * the provider's client IDs, and the role's trust must allow the provider
     * as Federated principal with the token's sub and aud.
     */
    async webIdentity(
        ctx: RequestContext,
        roleArn: string,
        token: string,
        sessionName: string,
        durationSeconds: number,
    ): Promise<Outcome<{ session: Session; subject: string; audience: string; providerArn: string }>> {
        const invalid = (code: string, message: string, reason: string, caller = "unknown web identity"): ServiceError & { ok: false } => {
            this.record(ctx, { api: "sts", caller, action: "sts:AssumeRoleWithWebIdentity", resource: roleArn, verdict: "deny", reason });
            return { ok: false, status: 400, code, message };
        };
        const badName = this.checkSessionName(sessionName);
        if (badName) {
            return { ok: false, ...badName };
        }
        const jwt = parseJwt(token);
        if (!jwt) {
            return invalid(
                "InvalidIdentityToken",
                "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
                "token is not a JWT",
            );
        }
        const iss = String(jwt.claims.iss ?? "");
        const sub = String(jwt.claims.sub ?? "");
        const caller = `${iss} ${sub}`;
        const provider = this.world.providers.find((p) => p.account === accountOf(roleArn) && hostPath(p.url) === hostPath(iss));
        if (!provider) {
            return invalid(
                "InvalidIdentityToken",
                `No OpenIDConnect provider found in your account for ${iss}`,
                `no IAM OIDC provider for ${iss} in account ${accountOf(roleArn)}`,
                caller,
            );
        }
        const issuer = this.world.issuers.get(iss);
        if (!issuer) {
            return invalid(
                "IDPCommunicationError",
                "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
                `issuer ${iss} is not served`,
                caller,
            );
        }
        if (!verifyJwt(jwt, issuer.key.publicKey)) {
            // STS's exact wording for a bad signature is not documented; the code is.
            return invalid(
                "InvalidIdentityToken",
                "The web identity token's signature could not be verified with the identity provider's keys",
                `signature does not verify with ${iss}'s key`,
                caller,
            );
        }
        const now = Math.floor(Date.now() / 1000);
        const exp = Number(jwt.claims.exp);
        if (!(exp > now)) {
            return invalid(
                "ExpiredTokenException",
                `Token expired: current date/time ${now} must be before the expiration date/time${exp}`,
                "token expired",
                caller,
            );
        }
        const audience = audiences(jwt.claims).find((a) => provider.clientIds.includes(a));
        if (audience === undefined) {
            return invalid(
                "InvalidIdentityToken",
                "Incorrect token audience",
                `audience ${JSON.stringify(jwt.claims.aud)} is not a client ID of ${provider.arn}`,
                caller,
            );
        }
        const denied = (reason: string): ServiceError & { ok: false } => {
            this.record(ctx, { api: "sts", caller, action: "sts:AssumeRoleWithWebIdentity", resource: roleArn, verdict: "deny", reason });
            return { ok: false, status: 403, code: "AccessDenied", message: "Not authorized to perform sts:AssumeRoleWithWebIdentity" };
        };
        const role = this.role(roleArn);
        if (!role) {
            return denied("no such role");
        }
        const subject = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub);
        if (!subject) {
            return denied(`sub ${JSON.stringify(sub)} is not a service account`);
        }
        const allowed = await this.simulator.webIdentity({
            roleArn,
            trustPolicy: role.trustPolicy,
            providerArn: provider.arn,
            issuerHostPath: hostPath(iss),
            namespace: subject[1],
            serviceAccount: subject[2],
            audience,
        });
        if (!allowed) {
            return denied(POLICY);
        }
        const badDuration = this.checkDuration(role, durationSeconds, false);
        if (badDuration) {
            return { ok: false, ...badDuration };
        }
        this.record(ctx, { api: "sts", caller, action: "sts:AssumeRoleWithWebIdentity", resource: roleArn, verdict: "allow", reason: POLICY });
        return {
            ok: true,
            session: this.issue(role, sessionName, {}, durationSeconds, "web-identity", false),
            subject: sub,
            audience,
            providerArn: provider.arn,
        };
    }

    /** sts:AssumeRole (and sts:TagSession when tags are passed) by a role session. */
    async assumeRole(
        ctx: RequestContext,
        caller: Session,
        roleArn: string,
        sessionName: string,
        tags: Record<string, string>,
        durationSeconds: number,
        via = "assume-role",
    ): Promise<Outcome<{ session: Session }>> {
        const badName = this.checkSessionName(sessionName);
        if (badName) {
            return { ok: false, ...badName };
        }
        const callerRole = this.role(caller.roleArn)!;
        const role = this.role(roleArn);
        const actions: ("sts:AssumeRole" | "sts:TagSession")[] = Object.keys(tags).length > 0 ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole"];
        const context = this.requestContext(caller);
        for (const action of actions) {
            const allowed =
                role !== undefined &&
                (await this.simulator.roleSession({
                    principalRoleArn: caller.roleArn,
                    identityPolicies: this.identityPolicies(callerRole),
                    action,
                    roleArn,
                    trustPolicy: role.trustPolicy,
                    sessionTags: tags,
                    context,
                }));
            this.record(ctx, {
                api: via === "pod-identity" ? "eks-auth" : "sts",
                caller: caller.arn,
                action,
                resource: roleArn,
                verdict: allowed ? "allow" : "deny",
                reason: role ? POLICY : "no such role",
                ...(context ? { context } : {}),
            });
            if (!allowed) {
                return {
                    ok: false,
                    status: 403,
                    code: "AccessDenied",
                    message: `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${roleArn}`,
                };
            }
        }
        const badDuration = this.checkDuration(role!, durationSeconds, true);
        if (badDuration) {
            return { ok: false, ...badDuration };
        }
        return { ok: true, session: this.issue(role!, sessionName, tags, durationSeconds, via, true) };
    }

    /** sts:AssumeRole and sts:TagSession by an AWS service principal (EKS Pod Identity) on a role's trust. */
    async serviceAssumeRole(
        ctx: RequestContext,
        service: string,
        source: { readonly account: string; readonly arn: string },
        roleArn: string,
        sessionName: string,
        tags: Record<string, string>,
        durationSeconds: number,
    ): Promise<Outcome<{ session: Session }>> {
        const role = this.role(roleArn);
        for (const action of ["sts:AssumeRole", "sts:TagSession"] as const) {
            const allowed =
                role !== undefined &&
                (await this.simulator.service({
                    service,
                    sourceAccount: source.account,
                    sourceArn: source.arn,
                    action,
                    roleArn,
                    trustPolicy: role.trustPolicy,
                    sessionTags: tags,
                }));
            this.record(ctx, {
                api: "eks-auth",
                caller: service,
                action,
                resource: roleArn,
                verdict: allowed ? "allow" : "deny",
                reason: role ? POLICY : "no such role",
            });
            if (!allowed) {
                return { ok: false, status: 403, code: "AccessDenied", message: `${service} is not authorized to perform: ${action} on resource: ${roleArn}` };
            }
        }
        return { ok: true, session: this.issue(role!, sessionName, tags, durationSeconds, "pod-identity", false) };
    }

    /**
     * The credentials EC2 delivers to `instance` through its IMDS: a session
     * of the instance profile's role, assumed by `ec2.amazonaws.com` if the
     * role's trust allows it (IamSimulator decides, recorded as api `ec2`),
     * named after the instance, with no session tags, lasting six hours.
     * The same credentials for every request of one run, as IMDS serves the
     * same credentials until EC2 rotates them.
     */
    async ec2Instance(ctx: RequestContext, instance: WorldInstance): Promise<Outcome<{ session: Session }>> {
        const key = `${ctx.runId}/${instance.instanceId}`;
        const delivered = this.instanceSessions.get(key);
        if (delivered) {
            return { ok: true, session: delivered };
        }
        const role = this.role(instance.roleArn);
        const allowed =
            role !== undefined &&
            (await this.simulator.service({ service: EC2_SERVICE, action: "sts:AssumeRole", roleArn: role.arn, trustPolicy: role.trustPolicy }));
        this.record(ctx, {
            api: "ec2",
            caller: EC2_SERVICE,
            action: "sts:AssumeRole",
            resource: instance.roleArn,
            verdict: allowed ? "allow" : "deny",
            reason: role ? POLICY : "no such role",
        });
        if (!allowed) {
            return {
                ok: false,
                status: 403,
                code: "AccessDenied",
                message: `${EC2_SERVICE} is not authorized to perform: sts:AssumeRole on resource: ${instance.roleArn}`,
            };
        }
        const session = this.issue(role!, instance.instanceId, {}, 6 * 3600, "ec2-instance", false, instance);
        this.instanceSessions.set(key, session);
        return { ok: true, session };
    }

    /** An ECR action by a session, on a repository ARN (with its policy) or on `*`. */
    async ecr(ctx: RequestContext, caller: Session, action: string, repository?: { readonly arn: string; readonly policy?: string }): Promise<boolean> {
        const role = this.role(caller.roleArn)!;
        const context = this.requestContext(caller);
        const allowed = await this.simulator.ecr({
            principalRoleArn: caller.roleArn,
            identityPolicies: this.identityPolicies(role),
            action,
            repositoryArn: repository?.arn,
            repositoryPolicy: repository?.policy,
            context,
        });
        this.record(ctx, {
            api: "ecr",
            caller: caller.arn,
            action,
            resource: repository?.arn ?? "*",
            verdict: allowed ? "allow" : "deny",
            reason: POLICY,
            ...(context ? { context } : {}),
        });
        return allowed;
    }
}
