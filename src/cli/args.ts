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
  const command = /^Usage: orders (\S+)/.exec(spec.help)?.[1] ?? 'this command';
  const seeHelp = `(run \`orders help ${command}\`)`;
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${usageProblem(err, spec.options, command)} ${seeHelp}`, 2);
  }
  const count = parsed.positionals.length;
  const usageLine = spec.help.split('\n')[0]?.replace(/^Usage: /, '') ?? command;
  if (count < spec.positionals.min) throw new CliError(`missing argument: ${usageLine} ${seeHelp}`, 2);
  if (count > spec.positionals.max) throw new CliError(`unexpected argument '${parsed.positionals[spec.positionals.max]}' for ${command} ${seeHelp}`, 2);
  return parsed as unknown as ParsedArgs<O>;
}

/** node:util's parseArgs errors, said the CLI's way (its own messages mention '--' tricks). */
function usageProblem(err: unknown, options: Options, command: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-{1,2}[^' <=]+)/.exec(message)?.[1];
  const known = Object.entries(options)
    .map(([name, option]) => `--${name}${option.type === 'string' ? ' <value>' : ''}`)
    .join(', ');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${option}' for ${command} (${known ? `it takes ${known}` : 'it takes no options'})`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    const name = option.replace(/^-+/, '');
    if (options[name]?.type === 'boolean') return `${option} is a switch and takes no value`;
    return `${option} needs a value (${option} <value>, or ${option}=<value> for one that starts with '-')`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `${command} takes no argument here`;
  return message.split('\n')[0] ?? 'invalid arguments';
}

/** A non-negative integer option, or a usage error naming the option. */
export function parseCount(value: string, option: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${option} must be a non-negative integer, got '${value}'`, 2);
  }
  return Number(value);
}
