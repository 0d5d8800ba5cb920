/**
 * The tool's own event names (docs/trace-format.md; the capture script's probe names) and
 * what each means. Kept apart from the decoder so probe maps can validate against it.
 */

/** The meanings an event line can have, before its fields are read. */
export type Meaning =
  | 'update'
  | 'update-decision'
  | 'update-return'
  | 'clear-active'
  | 'pin-get'
  | 'pin-get-return'
  | 'pin-put'
  | 'vm-create'
  | 'vm-destroy'
  | 'rollover'
  | 'smmu-ste'
  | 'smmu-vmid-alloc'
  | 'smmu-vmid-free'
  | 'smmu-cmd'
  | 'smmu-config'
  | 'cpu-tlbi-vmid'
  | 'cpu-tlbi-ipa'
  | 'cpu-tlbi-all'
  | 'system-config';

/** The tool's own event names (the capture script's probe names). */
export const meaningByEventName: ReadonlyMap<string, Meaning> = new Map([
  ['vmid_update', 'update'],
  ['vmid_update_decision', 'update-decision'],
  ['vmid_update_ret', 'update-return'],
  ['vmid_clear_active', 'clear-active'],
  ['vmid_pin', 'pin-get'],
  ['vmid_pin_ret', 'pin-get-return'],
  ['vmid_unpin', 'pin-put'],
  ['vm_create', 'vm-create'],
  ['vm_destroy', 'vm-destroy'],
  ['vmid_rollover', 'rollover'],
  ['smmu_ste', 'smmu-ste'],
  ['smmu_vmid_alloc', 'smmu-vmid-alloc'],
  ['smmu_vmid_free', 'smmu-vmid-free'],
  ['smmu_cmd', 'smmu-cmd'],
  ['smmu_config', 'smmu-config'],
  ['cpu_tlbi_vmid', 'cpu-tlbi-vmid'],
  ['cpu_tlbi_ipa', 'cpu-tlbi-ipa'],
  ['cpu_tlbi_all', 'cpu-tlbi-all'],
  ['vmid_config', 'system-config'],
]);

/** Every tool event name, for validating probe maps. */
export const toolEventNames: ReadonlySet<string> = new Set(meaningByEventName.keys());
