/** Formatting helpers for Linux-style log lines. @module */

/** `%#018Lx`: "0x" and 16 hex digits. Exact for safe integers. */
export function hex18(value: number): string {
  return `0x${value.toString(16).padStart(16, "0")}`;
}

/** `%08llx`-style zero-padded hex without a prefix, at least `width` digits. */
export function hexPad(value: number, width: number): string {
  return value.toString(16).padStart(width, "0");
}

/** C's `%-Ns`. */
export function padRight(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** C's `%Ns`. */
export function padLeft(text: string, width: number): string {
  return text.length >= width ? text : " ".repeat(width - text.length) + text;
}
