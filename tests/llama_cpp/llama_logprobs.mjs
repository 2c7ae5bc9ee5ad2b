// Prints llama.cpp's next-token log-probabilities (one per line, in id order; node-llama-cpp's
// full probability list at temperature 1 with no top-k / top-p / min-p cut) after a prompt of
// token ids, for tests/llama_cpp/kld.sh.
//
//   NODE_PATH=/tmp/llama/node_modules node llama_logprobs.mjs MODEL.gguf ID,ID,... VOCAB
import { createRequire } from "node:module";
import path from "node:path";

const [modelPath, idList, vocabArg] = process.argv.slice(2);
const vocab = Number(vocabArg);
const require = createRequire(path.join(process.env.NODE_PATH || ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 1024, threads: 1 });
const sequence = context.getSequence();
const ids = idList.split(",").map(Number);
const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
for await (const out of sequence.evaluateWithMetadata(ids, { probabilities: true }, options)) {
  const lines = [];
  for (let id = 0; id < vocab; ++id) lines.push(Math.log(out.probabilities.get(id) ?? 0));
  console.log(lines.join("\n"));
  break;
}
await context.dispose();
await model.dispose();
