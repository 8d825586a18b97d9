export function label(text) {
  return `✓ ${text}`;
}
