// The one error type of the input layer. Sources and parsers throw it when an
// input cannot be read at all (missing file, corrupt compressed data, binary
// garbage in a text trace). A malformed line is not an error: parsers count it
// as a warning and go on. The message is one line that names the file and the
// place, so the CLI can print it as is.

export class InputError extends Error {
  /** The bare description, without file and place. */
  readonly detail: string;

  /**
   * @param file  the input as the user named it ('<stdin>' for '-')
   * @param where the place: 'line 12', 'byte 4096', 'open'; '' when it does not apply
   * @param message what went wrong, without the file name
   */
  constructor(
    public readonly file: string,
    public readonly where: string,
    message: string,
  ) {
    super(where === '' ? `${file}: ${message}` : `${file}: ${where}: ${message}`);
    this.name = 'InputError';
    this.detail = message;
  }
}

/** Text from the input, fit for a one-line message: quoted, control and non-ASCII bytes as \xNN. */
export function quoted(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += `\\${s[i]}`;
    else if (c < 0x20 || c > 0x7e) out += `\\x${(c & 0xff).toString(16).padStart(2, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}
