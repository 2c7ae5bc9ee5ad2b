// Times llama.cpp (the prebuilt CPU build inside npm's node-llama-cpp@3.21.1) on a GGUF file:
// prefill of a prompt of P token ids, then G greedy decode steps, on T threads. Prints one JSON
// line: {"prefill_seconds", "decode_tokens_per_second", "tokens"}.
//
//   NODE_PATH=/tmp/llama/node_modules node llama_bench.mjs MODEL.gguf THREADS PROMPT_TOKENS GEN
import { createRequire } from "node:module";
import path from "node:path";

const [modelPath, threadsArg, promptArg, genArg] = process.argv.slice(2);
const require = createRequire(path.join(process.env.NODE_PATH || ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const threads = Number(threadsArg), promptTokens = Number(promptArg), gen = Number(genArg);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const context = await model.createContext({ contextSize: 1024, threads, batchSize: 512 });
const sequence = context.getSequence();
// The same ids rlvr-lm's byte tokenizer gives (bytes 0..255 -> ids 3..258 are llama's byte tokens
// here; any valid ids do: the weights are random).
const prompt = Array.from({ length: promptTokens }, (_, i) => 3 + ((i * 37) % 256));

let start = performance.now();
await sequence.evaluateWithoutGeneratingNewTokens(prompt);
const prefillSeconds = (performance.now() - start) / 1000;

// Decode: each step feeds the previous greedy token.
const out = [];
start = performance.now();
for await (const token of sequence.evaluate([prompt[prompt.length - 1]], { temperature: 0 })) {
  out.push(token);
  if (out.length >= gen) break;
}
const decodeSeconds = (performance.now() - start) / 1000;
console.log(JSON.stringify({ prefill_seconds: prefillSeconds,
                             decode_tokens_per_second: gen / decodeSeconds, tokens: out.length }));
await context.dispose();
await model.dispose();
