/**
 * HTML escaping for the report: text and attribute values, and JSON embedded in a
 * `<script type="application/json">` element.
 *
 * @module
 */

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes `text` for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * `JSON.stringify(value)` made safe inside a `<script>` element: `<`, `>` and `&` become `\u003c`,
 * `\u003e` and `\u0026` (so no `</script>` or `<!--` can appear), and U+2028/U+2029 are escaped.
 * `JSON.parse` of the element's text gives `value` back.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A script's source made safe to inline in a `<script>` element (no `</script` inside). */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** An HTML table: `head` cells and `rows` of cells, every cell escaped. */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(fmt(c))}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Formats a table cell: integers with thin grouping, fractions to 3 places. */
export function fmt(v: unknown): string {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return v.toFixed(3);
  }
  if (v === null || v === undefined) return "–";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Bytes in binary units: `64K`, `16M`, `1G`. */
export function bytesLabel(bytes: number): string {
  const units = ["", "K", "M", "G", "T"];
  let u = 0;
  let b = bytes;
  while (b >= 1024 && b % 1024 === 0 && u < units.length - 1) {
    b /= 1024;
    u++;
  }
  return `${b}${units[u]}`;
}
