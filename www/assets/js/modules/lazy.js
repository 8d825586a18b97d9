import { VERSION } from './version.js';

export function celebrate(message) {
  const p = document.createElement('p');
  p.className = 'celebration';
  p.textContent = `${message} (v${VERSION})`;
  document.querySelector('main')?.append(p);
}
