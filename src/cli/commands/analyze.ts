import { Option, type Command } from 'commander';
import { basename, join } from 'node:path';
import { ExitCode } from '../../errors.js';
import { analyzeTrace } from '../../replay/analyze.js';
import type { Report } from '../../report/report.js';
import { renderJson } from '../../report/json.js';
import { renderText } from '../../report/text.js';
import type { CommandContext } from '../context.js';
import { addModelOptions, loadCsvMap, loadProbeMap, type ModelFlags } from '../options.js';

const verdictExit: Record<Report['verdict'], ExitCode> = { ok: ExitCode.ok, findings: ExitCode.findings, inconclusive: ExitCode.inconclusive };

interface AnalyzeFlags extends ModelFlags {
  format: 'text' | 'json';
  out?: string;
  exitZero?: boolean;
}

export function registerAnalyze(program: Command, ctx: CommandContext): void {
  addModelOptions(
    program
      .command('analyze')
      .description('Replay traces and report findings; exit 0 ok, 1 findings, 2 inconclusive (lost events)')
      .argument('<trace...>', 'ftrace text files (plain or gzip), or - for stdin')
      .addOption(new Option('--format <format>', 'report format on stdout and in --out').choices(['text', 'json']).default('text'))
      .option('--out <dir>', 'also write <trace>.txt and <trace>.json reports into this directory')
      .option('--exit-zero', 'exit 0 whatever the verdict once the run completed (errors still fail); the verdict stays in the report'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ vmid-replay analyze traces/mixed-hazards.trace --variant rfc-v2
  $ vmid-replay analyze capture.txt.gz --vmid-bits 8 --cpus 4 --btm on --format json
  $ trace-cmd show | vmid-replay analyze - --vmid-bits 16 --cpus 64 --strict`,
    )
    .action(async (traces: string[], flags: AnalyzeFlags) => {
      const { io } = ctx;
      let worst: number = ExitCode.ok;
      const probeMap = await loadProbeMap(flags.map, io);
      const csvMap = await loadCsvMap(flags.csvMap, io);
      for (const trace of traces) {
        const report = await analyzeTrace(trace, io.stdin, { ...flags, ...(probeMap === undefined ? {} : { probeMap }), csvMap });
        io.writeOut(flags.format === 'json' ? renderJson(report) : renderText(report));
        if (flags.out !== undefined) {
          await io.makeDir(flags.out);
          const stem = trace === '-' ? 'stdin' : basename(trace).replace(/\.gz$/, '');
          await io.writeFile(join(flags.out, `${stem}.txt`), renderText(report));
          await io.writeFile(join(flags.out, `${stem}.json`), renderJson(report));
        }
        worst = Math.max(worst, verdictExit[report.verdict]);
      }
      ctx.setExitCode(flags.exitZero === true ? ExitCode.ok : worst);
    });
}
