/** Options of the what-if commands (`compare`, `headroom`, `replay --policy`): which VMs get devices, and how many copies. */
import { InvalidArgumentError, type Command } from 'commander';
import { maxScale, parseAssign, type AssignSpec } from '../whatif/assign.js';
import { policyNames } from '../whatif/policies/index.js';
import { integerIn } from './options.js';

export interface WhatIfFlags {
  assign?: string;
  seed: number;
  scale: number;
}

/** A comma-separated list, each item read by `item`. */
export function listOf<T>(item: (text: string) => T) {
  return (value: string): T[] => value.split(',').map((part) => item(part.trim()));
}

/** `on` or `off`. */
export function onOff(text: string): boolean {
  if (text !== 'on' && text !== 'off') throw new InvalidArgumentError(`expected on or off, got "${text}".`);
  return text === 'on';
}

/** A policy name, or the usage error listing them. */
export function policyName(text: string): string {
  if (!policyNames.includes(text)) throw new InvalidArgumentError(`no policy "${text}": one of ${policyNames.join(', ')}.`);
  return text;
}

function assignText(value: string): string {
  try {
    parseAssign(value);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
  return value;
}

export function addWhatIfOptions(command: Command): Command {
  return command
    .option('--assign <mode>', 'which VMs get a device: all, ratio=R (a seeded fraction), vms=PTR,... or trace (the STE binds the trace records); add ,first-run to attach at the first vCPU load instead of at creation, ,devices=N for N devices each (default: trace when the trace records attaches, else all)', assignText)
    .option('--seed <n>', 'which VMs ratio= picks, reproducibly', integerIn(0, 2 ** 31 - 1, '--seed'), 1)
    .option('--scale <k>', 'run K copies of every VM side by side, as if the host ran K times the VMs (each copy pins, loads and attaches as the original)', integerIn(1, maxScale, '--scale'), 1);
}

/** `--assign` as the planner reads it (undefined: the trace's attaches if any, else every VM). */
export function assignSpecFrom(flags: WhatIfFlags): AssignSpec | undefined {
  return flags.assign === undefined ? undefined : parseAssign(flags.assign, flags.seed);
}

export const whatIfHelp = `
Most captures record no device: --assign says which VMs would have had one. Each attach and
detach is charged to a trace line (a VM's creation, its first vCPU load, its destruction), and
every finding is a counterfactual: what would have happened under that policy, not what the
trace shows. Lost events make everything after them inconclusive. docs/what-if.md describes
each policy with its source, and every column.`;
