// Argument parsing shared by the subcommands: node's parseArgs, with its errors turned into the
// CLI's one-line error and `--help` handled the same way everywhere.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cli-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs<O extends Options> {
  values: { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string };
  positionals: string[];
}

/**
 * Parses `args`; returns undefined after printing `help` when --help/-h was given.
 * Unknown options and a wrong number of positionals are usage errors (exit code 2).
 */
export function parseCommandArgs<O extends Options>(
  args: string[],
  spec: { options: O; positionals: { min: number; max: number }; help: string },
): ParsedArgs<O> | undefined {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(spec.help);
    return undefined;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new CliError(`${message} (see --help)`, 2);
  }
  const count = parsed.positionals.length;
  if (count < spec.positionals.min) throw new CliError(`missing argument (see --help)`, 2);
  if (count > spec.positionals.max) throw new CliError(`unexpected argument '${parsed.positionals[spec.positionals.max]}' (see --help)`, 2);
  return parsed as unknown as ParsedArgs<O>;
}

/** A non-negative integer option, or a usage error naming the option. */
export function parseCount(value: string, option: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${option} must be a non-negative integer, got '${value}'`, 2);
  }
  return Number(value);
}
