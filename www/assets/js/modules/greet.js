import { label } from './format.js';

export function greet(name) {
  return label(`Hello, ${name}!`);
}
