import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, StackConfig } from "./config";

/**
 * The role session's name when the job names none: one per stack and the same on every run, so two runs
 * with the same identity register the same provider inputs (a run id in it would be a change each time).
 * ActionTrail shows it beside the role.
 */
export function defaultSessionName(stack: string): string {
    // Stack names use letters, digits, '-', '_' and '.', all of which a session name accepts.
    return `${PROJECT}-${stack}`.slice(0, 64);
}

/**
 * The Alibaba Cloud provider every cloud resource and lookup goes through. A CI job's OIDC identity is
 * passed as the provider's assumeRoleWithOidc block: terraform-provider-alicloud reads the
 * ALIBABA_CLOUD_OIDC_* variables only inside that block (a default of a nested field runs only when the
 * block is present), so without it the job's token would never be used. Without one, the provider keeps its
 * ambient chain (AccessKey variables, a CLI profile, an instance role), as on a laptop.
 */
export function alicloudProvider(name: string, cfg: Pick<StackConfig, "region" | "cloudLogin">): alicloud.Provider {
    const login = cfg.cloudLogin;
    return new alicloud.Provider(name, {
        region: cfg.region,
        assumeRoleWithOidc: login && {
            roleArn: login.roleArn,
            oidcProviderArn: login.oidcProviderArn,
            oidcTokenFile: login.oidcTokenFile,
            roleSessionName: login.roleSessionName ?? defaultSessionName(pulumi.getStack()),
        },
    });
}
