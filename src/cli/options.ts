/** Options shared by the commands that run the model. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { PinVariant } from '../events/traceEvents.js';
import { parseProbeMap, type ProbeMap } from '../events/probeMap.js';
import { shippedProbeMap } from '../events/knownProbeSets.js';
import { fileURLToPath } from 'node:url';
import { parseCsvMap, type CsvMap } from '../ingest/csv/csvMap.js';
import { VmidReplayError } from '../errors.js';
import type { TraceFormat } from '../ingest/importer.js';
import { importers } from '../ingest/readTrace.js';
import type { CliIo } from './io.js';
import type { ReplayOptions } from '../replay/replayTypes.js';

export function integerIn(min: number, max: number, what: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
    return parsed;
  };
}

/**
 * A value for every SMMU, or a list per SMMU name (`smmu0=on,0xffff000004a1c080=off`);
 * `read` gives the value of one setting, undefined when it is not one.
 */
function perSmmu<T>(value: string, read: (text: string) => T | undefined, expected: string): T | Map<string, T> {
  const all = read(value);
  if (all !== undefined) return all;
  const map = new Map<string, T>();
  for (const part of value.split(',')) {
    const at = part.lastIndexOf('=');
    const setting = at <= 0 ? undefined : read(part.slice(at + 1));
    if (setting === undefined) throw new InvalidArgumentError(`expected ${expected}.`);
    map.set(part.slice(0, at), setting);
  }
  return map;
}

/** `--btm on`, `--btm off`, or per SMMU: `--btm smmu0=on,smmu1=off`. */
export function parseBtm(value: string): boolean | Map<string, boolean> {
  return perSmmu(value, (text) => (text === 'on' ? true : text === 'off' ? false : undefined), '"on", "off" or a list such as "smmu0=on,smmu1=off"');
}

/** `--smmu-vmid-bits 16`, or per SMMU: `--smmu-vmid-bits smmu0=8,smmu1=16`. */
export function parseSmmuVmidBits(value: string): number | Map<string, number> {
  const bits = (text: string): number | undefined => (/^(?:[2-9]|1[0-6])$/.test(text) ? Number(text) : undefined);
  return perSmmu(value, bits, 'a width from 2 to 16 or a list such as "smmu0=8,smmu1=16"');
}

export const variantOption = () =>
  new Option('--variant <variant>', 'allocator source to model: mainline vmid.c, or with the RFC v2/v3 pinned-VMID patch (default: the trace header, else mainline)').choices([
    'mainline',
    'rfc-v2',
    'rfc-v3',
  ]);

/** `--input-format`: one of the registered importers, or `auto` (sniffed from the content). */
export const inputFormatOption = () =>
  new Option('--input-format <format>', 'input format: auto (chosen by content), ftrace (tracefs trace/trace_pipe text), trace-cmd (`trace-cmd report` text) or csv (docs/trace-format.md, CSV) or msgpack (docs/msgpack-format.md)')
    .choices(['auto', ...importers.map((importer) => importer.format)])
    .default('auto');

export interface ModelFlags {
  map?: string;
  csvMap?: string;
  variant?: PinVariant;
  vmidBits?: number;
  cpus?: number;
  btm?: boolean | Map<string, boolean>;
  smmuVmidBits?: number | Map<string, number>;
  strict?: boolean;
  inputFormat?: TraceFormat | 'auto';
  reorderWindow?: number;
  skewBound?: number;
}

export function addModelOptions(command: Command): Command {
  return command
    .addOption(variantOption())
    .addOption(inputFormatOption())
    .option('--vmid-bits <bits>', 'VMID width (kvm_arm_vmid_bits): 8 or 16 on hardware, 2..16 accepted', integerIn(2, 16, '--vmid-bits'))
    .option('--cpus <n>', 'num_possible_cpus() of the traced host', integerIn(1, 4096, '--cpus'))
    .option('--btm <state>', 'whether SMMUs obey broadcast TLBIs: on, off, or per SMMU "smmu0=on,smmu1=off" (default: header, else off)', parseBtm)
    .option('--smmu-vmid-bits <bits>', 'VMID width of the SMMUs (IDR0.VMID16: 16, else 8): one width, or per SMMU "smmu0=8,smmu1=16" (default: header, else KVM\'s)', parseSmmuVmidBits)
    .option('--map <file>', "probe map (JSON) saying what a capture's own probe names mean, or the name of one shipped with the tool: captures-6.1 (traces/captures-6.1.map.json; docs/trace-format.md)")
    .option('--csv-map <file>', "CSV map (JSON) saying how a CSV trace's columns read as the default CSV layout: renames, timestamp unit, argument columns (docs/trace-format.md, CSV)")
    .option('--strict', 'stop at the first malformed line with an error naming file and line, instead of counting it')
    .option('--reorder-window <usecs>', 'merge records arriving up to this many microseconds out of timestamp order (at most 100000 records held); an older one makes what was decided from its time on inconclusive (a file of per-CPU runs is merged instead); 0 merges only records not yet passed (default: 1000)', integerIn(0, Number.MAX_SAFE_INTEGER, '--reorder-window'))
    .option('--skew-bound <usecs>', "how far apart two CPUs' trace clocks may be: events of different CPUs this close are replayed in another order than stamped where the trace's in-lock observations show it (docs/trace-format.md); 0 never reorders (default: 10000)", integerIn(0, 1_000_000, '--skew-bound'));
}

/** Reads a JSON document named on the command line (`what` names it in errors, with the file). */
async function readJsonDocument(path: string, io: CliIo, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await io.readText(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new VmidReplayError(code === 'ENOENT' ? 'INPUT_NOT_FOUND' : 'INPUT_UNREADABLE', code === 'ENOENT' ? `no such ${what}` : `cannot read ${what} (${code ?? String(error)})`, { file: path });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new VmidReplayError('CONFIG_INVALID', `${what} is not valid JSON (${(error as Error).message})`, { file: path });
  }
}

/**
 * Where `--map NAME` finds a map shipped in the package's `traces/` folder: three folders up
 * from this module, in the compiled tree (dist/src/cli/) and in the bundle (dist/bundle/cli/)
 * alike, as for package.json (version.ts). So the name works from any directory.
 */
function shippedMapPath(name: string): string | undefined {
  const shipped = shippedProbeMap(name);
  return shipped === undefined ? undefined : fileURLToPath(new URL(`../../../${shipped.file}`, import.meta.url));
}

/** Reads and validates `--map FILE` (or the name of a shipped map); errors name the file. */
export async function loadProbeMap(path: string | undefined, io: CliIo): Promise<ProbeMap | undefined> {
  if (path === undefined) return undefined;
  const file = shippedMapPath(path) ?? path;
  return parseProbeMap(await readJsonDocument(file, io, 'probe map'), file);
}

/** Reads and validates `--csv-map FILE`; errors name the file and the key. */
export async function loadCsvMap(path: string | undefined, io: CliIo): Promise<CsvMap | undefined> {
  if (path === undefined) return undefined;
  return parseCsvMap(await readJsonDocument(path, io, 'csv map'), path);
}

/**
 * The replay's options from the command's flags, with the maps they name loaded. Only model
 * options are copied (never the command's own flags), so the result is plain data that can be
 * sent to a worker thread.
 */
export async function replayOptionsFrom(flags: ModelFlags, io: CliIo): Promise<ReplayOptions> {
  const probeMap = await loadProbeMap(flags.map, io);
  const csvMap = await loadCsvMap(flags.csvMap, io);
  return {
    ...(flags.variant === undefined ? {} : { variant: flags.variant }),
    ...(flags.vmidBits === undefined ? {} : { vmidBits: flags.vmidBits }),
    ...(flags.cpus === undefined ? {} : { cpus: flags.cpus }),
    ...(flags.btm === undefined ? {} : { btm: flags.btm }),
    ...(flags.smmuVmidBits === undefined ? {} : { smmuVmidBits: flags.smmuVmidBits }),
    ...(flags.strict === undefined ? {} : { strict: flags.strict }),
    ...(flags.inputFormat === undefined ? {} : { inputFormat: flags.inputFormat }),
    ...(flags.reorderWindow === undefined ? {} : { reorderWindowUs: flags.reorderWindow }),
    ...(flags.skewBound === undefined ? {} : { skewBoundUs: flags.skewBound }),
    ...(probeMap === undefined ? {} : { probeMap }),
    ...(csvMap === undefined ? {} : { csvMap }),
  };
}
