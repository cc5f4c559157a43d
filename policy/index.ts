import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("asm-prometheus-mtls", { policies: POLICIES });
