/**
 * The one escaper of server-sourced text in TypeScript: the twin of
 * libvctx's vctx_escape / vctx_escape_hex (kernel/lib/escape.c), which
 * escapes what the kernel hands over (process names, command lines, server
 * names in snapshots).  Both follow one rule, pinned by one table of inputs
 * run through both (test/fixtures/escape-golden.json,
 * test/unit/escape.test.ts):
 *
 *  - printable text, including non-ASCII letters, stays;
 *  - C0 controls and DEL become `\xHH`; C1 controls (U+0080..U+009F),
 *    U+061C, LRM, RLM, LS, PS, LRE..RLO and LRI..PDI become `\u{HH}`;
 *  - style 'text' (terminal output: vps, vserver-stat) writes `\n`, `\t`,
 *    `\r` and `\\` for those; style 'hex' (the system log, vtop's last
 *    guard over text the kernel already escaped) writes `\x0a` & co. and
 *    keeps a backslash as it is.
 *
 * A JavaScript string holds no invalid UTF-8; a lone surrogate half is
 * what Buffer.from makes of it, U+FFFD, as the addon would see it.
 */

export type EscapeStyle = 'text' | 'hex';

// every code point the rule escapes and surrogate halves; with backslash
// eslint-disable-next-line no-control-regex
const SPECIAL_HEX = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;
// eslint-disable-next-line no-control-regex
const SPECIAL_TEXT = /[\x00-\x1f\x7f-\x9f\\\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;
const SHORT: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\\': '\\\\' };

function isWideControl(c: number): boolean {
  return (c >= 0x80 && c <= 0x9f) || c === 0x061c || c === 0x200e || c === 0x200f ||
    (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/** @s made safe for a terminal line or a log record (see above) */
export function escapeText(s: string, style: EscapeStyle = 'text'): string {
  if (!(style === 'text' ? SPECIAL_TEXT : SPECIAL_HEX).test(s)) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (style === 'text' && SHORT[ch] !== undefined) out += SHORT[ch];
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (isWideControl(c)) out += `\\u{${c.toString(16)}}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return out;
}
