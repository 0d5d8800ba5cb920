/**
 * SMMUv3 command-queue entries, decoded from their two 64-bit dwords as laid out in
 * `drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h` (CMDQ_0_OP, CMDQ_TLBI_0_VMID, ...) and
 * built by `arm_smmu_cmdq_build_cmd()`.
 */

export type SmmuCommand =
  | { readonly op: 'PREFETCH_CFG'; readonly sid: number }
  | { readonly op: 'CFGI_STE'; readonly sid: number }
  | { readonly op: 'CFGI_ALL' }
  | { readonly op: 'CFGI_CD'; readonly sid: number; readonly ssid: number }
  | { readonly op: 'CFGI_CD_ALL'; readonly sid: number }
  | { readonly op: 'TLBI_NH_ALL'; readonly vmid: number }
  | { readonly op: 'TLBI_NH_ASID'; readonly vmid: number; readonly asid: number }
  | { readonly op: 'TLBI_NH_VA'; readonly vmid: number; readonly asid: number; readonly addr: bigint }
  | { readonly op: 'TLBI_NH_VAA'; readonly vmid: number; readonly addr: bigint }
  | { readonly op: 'TLBI_EL2_ALL' }
  | { readonly op: 'TLBI_EL2_ASID'; readonly asid: number }
  | { readonly op: 'TLBI_EL2_VA'; readonly asid: number; readonly addr: bigint }
  | { readonly op: 'TLBI_S12_VMALL'; readonly vmid: number }
  | { readonly op: 'TLBI_S2_IPA'; readonly vmid: number; readonly addr: bigint }
  | { readonly op: 'TLBI_NSNH_ALL' }
  | { readonly op: 'ATC_INV'; readonly sid: number }
  | { readonly op: 'CMD_SYNC' }
  | { readonly op: 'UNKNOWN'; readonly opcode: number };

export type SmmuCommandOp = SmmuCommand['op'];

const opcodes: Readonly<Record<number, SmmuCommandOp>> = {
  0x01: 'PREFETCH_CFG',
  0x03: 'CFGI_STE',
  0x04: 'CFGI_ALL',
  0x05: 'CFGI_CD',
  0x06: 'CFGI_CD_ALL',
  0x10: 'TLBI_NH_ALL',
  0x11: 'TLBI_NH_ASID',
  0x12: 'TLBI_NH_VA',
  0x13: 'TLBI_NH_VAA',
  0x20: 'TLBI_EL2_ALL',
  0x21: 'TLBI_EL2_ASID',
  0x22: 'TLBI_EL2_VA',
  0x28: 'TLBI_S12_VMALL',
  0x2a: 'TLBI_S2_IPA',
  0x30: 'TLBI_NSNH_ALL',
  0x40: 'ATC_INV',
  0x46: 'CMD_SYNC',
};

export const opcodeOf: Readonly<Record<Exclude<SmmuCommandOp, 'UNKNOWN'>, number>> = Object.fromEntries(
  Object.entries(opcodes).map(([code, op]) => [op, Number(code)]),
) as Record<Exclude<SmmuCommandOp, 'UNKNOWN'>, number>;

function bits(value: bigint, high: number, low: number): number {
  return Number((value >> BigInt(low)) & ((1n << BigInt(high - low + 1)) - 1n));
}

/** CMDQ_TLBI_1_VA_MASK / CMDQ_TLBI_1_IPA_MASK: the address is bits [63:12] of dword 1. */
const addressMask = ~0xfffn & ((1n << 64n) - 1n);

export function decodeSmmuCommand(dword0: bigint, dword1: bigint): SmmuCommand {
  const opcode = bits(dword0, 7, 0);
  const op = opcodes[opcode];
  const vmid = bits(dword0, 47, 32);
  switch (op) {
    case 'PREFETCH_CFG':
    case 'CFGI_STE':
    case 'CFGI_CD_ALL':
      return { op, sid: bits(dword0, 63, 32) };
    case 'CFGI_CD':
      return { op, sid: bits(dword0, 63, 32), ssid: bits(dword0, 31, 12) };
    case 'CFGI_ALL':
    case 'TLBI_EL2_ALL':
    case 'TLBI_NSNH_ALL':
    case 'CMD_SYNC':
      return { op };
    case 'TLBI_NH_ALL':
    case 'TLBI_S12_VMALL':
      return { op, vmid };
    case 'TLBI_NH_ASID':
      return { op, vmid, asid: bits(dword0, 63, 48) };
    case 'TLBI_EL2_ASID':
      return { op, asid: bits(dword0, 63, 48) };
    case 'TLBI_EL2_VA':
      return { op, asid: bits(dword0, 63, 48), addr: dword1 & addressMask };
    case 'TLBI_NH_VA':
      return { op, vmid, asid: bits(dword0, 63, 48), addr: dword1 & addressMask };
    case 'TLBI_NH_VAA':
    case 'TLBI_S2_IPA':
      return { op, vmid, addr: dword1 & addressMask };
    case 'ATC_INV':
      return { op, sid: bits(dword0, 63, 32) };
    default:
      return { op: 'UNKNOWN', opcode };
  }
}

/** Inverse of `decodeSmmuCommand` for the fields it keeps; used by tests and trace writers. */
export function encodeSmmuCommand(command: SmmuCommand): [bigint, bigint] {
  if (command.op === 'UNKNOWN') return [BigInt(command.opcode), 0n];
  let dword0 = BigInt(opcodeOf[command.op]);
  let dword1 = 0n;
  if ('vmid' in command) dword0 |= BigInt(command.vmid) << 32n;
  if ('asid' in command) dword0 |= BigInt(command.asid) << 48n;
  if ('sid' in command) dword0 |= BigInt(command.sid) << 32n;
  if ('ssid' in command) dword0 |= BigInt(command.ssid) << 12n;
  if ('addr' in command) dword1 = command.addr & addressMask;
  if (command.op === 'CFGI_ALL') dword1 = 31n; // CMDQ_CFGI_1_RANGE = 31: all StreamIDs
  return [dword0, dword1];
}

/** Integer fields each command carries (besides `addr`), as `decodeSmmuCommand` produces them. */
const integerFields: Readonly<Record<Exclude<SmmuCommandOp, 'UNKNOWN'>, readonly string[]>> = {
  PREFETCH_CFG: ['sid'],
  CFGI_STE: ['sid'],
  CFGI_ALL: [],
  CFGI_CD: ['sid', 'ssid'],
  CFGI_CD_ALL: ['sid'],
  TLBI_NH_ALL: ['vmid'],
  TLBI_NH_ASID: ['vmid', 'asid'],
  TLBI_NH_VA: ['vmid', 'asid'],
  TLBI_NH_VAA: ['vmid'],
  TLBI_EL2_ALL: [],
  TLBI_EL2_ASID: ['asid'],
  TLBI_EL2_VA: ['asid'],
  TLBI_S12_VMALL: ['vmid'],
  TLBI_S2_IPA: ['vmid'],
  TLBI_NSNH_ALL: [],
  ATC_INV: ['sid'],
  CMD_SYNC: [],
};

/**
 * The decoded single-command form of a line, `op=TLBI_S12_VMALL vmid=5` (the `CMD_` prefix
 * is optional). Returns what was expected when a name or field is missing.
 */
export function commandFromFields(op: string, field: (name: string) => number | undefined, addr: bigint | undefined): SmmuCommand | string {
  const upper = op.toUpperCase();
  const name = (upper.startsWith('CMD_') && upper !== 'CMD_SYNC' ? upper.slice(4) : upper) as Exclude<SmmuCommandOp, 'UNKNOWN'>;
  const wanted = integerFields[name];
  if (wanted === undefined) return `a command name such as TLBI_S12_VMALL (got "${op}")`;
  const command: Record<string, unknown> = { op: name };
  for (const key of wanted) {
    const value = field(key);
    if (value === undefined) return `a "${key}=" field for ${name}`;
    command[key] = value;
  }
  if (name === 'TLBI_NH_VA' || name === 'TLBI_NH_VAA' || name === 'TLBI_S2_IPA' || name === 'TLBI_EL2_VA') command['addr'] = (addr ?? 0n) & addressMask;
  return command as SmmuCommand;
}

/** Human form for reports: `CMD_TLBI_S12_VMALL vmid=5`. */
export function describeCommand(command: SmmuCommand): string {
  const name = command.op === 'CMD_SYNC' ? 'CMD_SYNC' : command.op === 'UNKNOWN' ? `opcode 0x${command.opcode.toString(16)}` : `CMD_${command.op}`;
  const parts = [name];
  if ('sid' in command) parts.push(`sid=${command.sid}`);
  if ('vmid' in command) parts.push(`vmid=${command.vmid}`);
  if ('asid' in command) parts.push(`asid=${command.asid}`);
  if ('addr' in command) parts.push(`addr=0x${command.addr.toString(16)}`);
  return parts.join(' ');
}
