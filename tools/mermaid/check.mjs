// Reads Mermaid diagrams on stdin (one diagram, or a JSON list of diagrams)
// and parses each with the real Mermaid parser (the npm mermaid package),
// headless: exit 0 when Mermaid accepts all, 1 with Mermaid's errors otherwise.
//
// mermaid.parse() runs the diagram's own grammar (flowcharts use Mermaid's
// jison flowchart parser; @mermaid-js/parser does not cover flowcharts) and
// sanitizes labels with DOMPurify, which needs a DOM: jsdom provides one.
// Nothing is rendered (that would need a browser's layout engine).
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('');
globalThis.window = window;
globalThis.document = window.document;

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let text = '';
for await (const chunk of process.stdin) text += chunk;
const diagrams = text.trimStart().startsWith('[') ? JSON.parse(text) : [text];
let failed = 0;
for (const [i, diagram] of diagrams.entries()) {
  try {
    const result = await mermaid.parse(diagram);
    if (!result || !result.diagramType) throw new Error('no diagram type recognised');
    console.log(`diagram ${i}: mermaid ${result.diagramType}: ok`);
  } catch (err) {
    failed++;
    console.error(`diagram ${i}: ` + String(err && err.message ? err.message : err));
  }
}
process.exit(failed ? 1 : 0);
