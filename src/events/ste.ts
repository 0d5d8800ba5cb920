/**
 * Stream table entry fields, from `drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h`:
 * STRTAB_STE_0_V is bit 0 and STRTAB_STE_0_CFG bits [3:1] of dword 0; STRTAB_STE_2_S2VMID
 * bits [15:0] of dword 2.
 */
import type { SteConfig } from './smmuEvents.js';

const configByField: Readonly<Record<number, SteConfig>> = {
  0b000: 'abort',
  0b100: 'bypass',
  0b101: 's1',
  0b110: 's2',
  0b111: 'nested',
};

export function decodeSte(dword0: bigint, dword2: bigint): { config: SteConfig; s2vmid: number } | string {
  const valid = (dword0 & 1n) === 1n;
  const field = Number((dword0 >> 1n) & 0b111n);
  const config = valid ? configByField[field] : 'abort';
  if (config === undefined) return `a valid STE Config value (got 0b${field.toString(2).padStart(3, '0')})`;
  return { config, s2vmid: Number(dword2 & 0xffffn) };
}

export function encodeSte(config: SteConfig, s2vmid: number): [bigint, bigint] {
  const field = Number(Object.entries(configByField).find(([, name]) => name === config)?.[0] ?? 0);
  const dword0 = config === 'abort' ? 1n : (BigInt(field) << 1n) | 1n;
  return [dword0, BigInt(s2vmid)];
}

export const steConfigs: readonly SteConfig[] = ['abort', 'bypass', 's1', 's2', 'nested'];

/** Whether the SMMU walks (and caches) a stage 2 tagged with the STE's S2VMID. */
export function usesStage2(config: SteConfig): boolean {
  return config === 's2' || config === 'nested';
}
