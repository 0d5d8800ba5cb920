/**
 * The text report wraps its prose at 72 columns. A test that reads one summary fact, one
 * diagnostic or one step of a finding's argument joins its lines back into the one line it
 * was before wrapping: a summary fact and an argument step continue on lines indented by two
 * spaces, a diagnostic on lines indented by eleven (src/report/text.ts), and wrapping breaks
 * lines only at single spaces.
 */
export function unwrapped(text: string): string {
  return text.replace(/\n {2}(?=\S)/g, ' ').replace(/\n {11}(?=\S)/g, ' ');
}
