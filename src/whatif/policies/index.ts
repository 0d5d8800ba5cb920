/** Every what-if policy, by name, in the order tables show them. */
import type { Policy } from '../policyRun.js';
import { mainlinePolicy } from './mainline.js';
import { pinAtCreatePolicy } from './pinAtCreate.js';
import { pinOrFailPolicy, rfcV2Policy } from './pinOnAttach.js';
import { sharedUnpinnedPolicy } from './sharedUnpinned.js';
import { vsmmuPolicy } from './vsmmu.js';

export const policies: readonly Policy[] = [mainlinePolicy, rfcV2Policy, pinOrFailPolicy, pinAtCreatePolicy, vsmmuPolicy, sharedUnpinnedPolicy];

export const policyNames: readonly string[] = policies.map((policy) => policy.name);

/** The pinning policies: the ones `headroom` searches for failures. */
export const pinningPolicies: readonly string[] = ['rfc-v2', 'pin-or-fail', 'pin-at-create'];

export function policyNamed(name: string): Policy | undefined {
  return policies.find((policy) => policy.name === name);
}
