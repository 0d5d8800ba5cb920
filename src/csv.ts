/** RFC 4180 quoting: a cell holding the delimiter, a quote, a line break or outer blanks is quoted. */
export function csvCell(value: string): string {
  return value.includes(',') || /["\r\n]/.test(value) || value.trim() !== value ? `"${value.replaceAll('"', '""')}"` : value;
}
