// How an event's data or metadata is shown: JSON pretty-printed, text as text, anything that is
// not UTF-8 text as a hex dump; long bodies cut with the total size said, unless `full`.

export interface Payload {
  kind: 'json' | 'text' | 'binary' | 'empty';
  text: string;
  description: string;
  truncated: boolean;
  totalBytes: number;
}

/** Characters shown before "show all". */
export const PREVIEW_CHARS = 16_384;
/** Even "show all" stops somewhere: a browser tab is not a hex editor. */
const FULL_CHARS = 8 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function describePayload(bytes: Uint8Array, contentType: string, options: { full: boolean; previewChars?: number }): Payload {
  const totalBytes = bytes.length;
  if (totalBytes === 0) return { kind: 'empty', text: '', description: 'empty', truncated: false, totalBytes };
  const limit = options.full ? FULL_CHARS : (options.previewChars ?? PREVIEW_CHARS);
  const text = decodeText(bytes);
  if (text === undefined) {
    const shownBytes = Math.min(totalBytes, Math.floor(limit / 3));
    return {
      kind: 'binary',
      text: hexDump(bytes.subarray(0, shownBytes)),
      description: `binary (${contentType}), ${totalBytes} bytes`,
      truncated: shownBytes < totalBytes,
      totalBytes,
    };
  }
  let shown = text;
  let kind: Payload['kind'] = 'text';
  if (contentType === 'application/json' || /^\s*[[{]/.test(text)) {
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
      kind = 'json';
    } catch {
      // not JSON after all: shown as text
    }
  }
  const truncated = shown.length > limit;
  return {
    kind,
    text: truncated ? shown.slice(0, limit) : shown,
    description: `${kind === 'json' ? 'JSON' : 'text'}, ${totalBytes} bytes${truncated ? ', cut' : ''}`,
    truncated,
    totalBytes,
  };
}

/** UTF-8 text without control characters other than tab and line breaks; else undefined. */
function decodeText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const hex = [...row].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}
